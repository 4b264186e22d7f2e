"""What makes an AWS emulator (moto's server, on localhost) behave like AWS for a compiled
template: the server itself with two per-request costs removed (server.py), CloudFormation's
intrinsic functions resolved against a stack (context.py, intrinsics.py), Lambda handlers run in
this process without Docker (functions.py), custom resources answered by the real handlers
(custom_resources.py), the resource types moto's CloudFormation skips made, changed and removed
through the regular APIs (provisioners.py; the IAM ones in iam.py), and a stack change finished
as CloudFormation would (changes.py). `ncap local up` and `ncap deploy --endpoint-url` both use
it; docs/architecture.md lists each difference from AWS."""
