"""The seam to AWS (or an emulator on localhost) that deploy/, local/ and the emulator package
share: boto3 clients for one region and endpoint, one-line explanations of AWS errors, reading
deployed stacks, packaging function code, and lab users' keys in Secrets Manager."""
