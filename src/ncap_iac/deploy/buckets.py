"""The artifact bucket that packaged code and large templates go to: --s3-bucket, else the
config's Deploy.ArtifactBucket, else a default bucket of the account and region, made on first use
(as `sam deploy --resolve-s3` does): encrypted, public access blocked, named from the account and
the region so that every pipeline of the account shares it."""
from __future__ import annotations

from ..aws.errors import aws_errors, error_code, explain
from ..errors import NcapError

MISSING = ("404", "NoSuchBucket", "NotFound")
FORBIDDEN = ("403", "AccessDenied", "Forbidden")


def default_name(account: str, region: str) -> str:
    return f"ncap-artifacts-{account}-{region}"


def artifact_bucket(aws, given: str | None, emulator: bool, say) -> str:
    """The bucket to upload to, made when it is the default one (or any, on an emulator)."""
    if given:
        ensure(aws, given, create=emulator, say=say, what="artifact bucket")
        return given
    try:
        name = default_name(aws.account(), aws.region)
    except aws_errors() as exc:
        raise explain(exc, "finding the default artifact bucket (it is named after the account)") from None
    ensure(aws, name, create=True, say=say, what="default artifact bucket")
    return name


def ensure(aws, bucket: str, create: bool, say, what: str) -> None:
    """The bucket must exist; made (encrypted, private) when missing and `create`."""
    try:
        aws.s3.head_bucket(Bucket=bucket)
        return
    except aws_errors() as exc:
        code = error_code(exc)
        if code not in MISSING or not create:
            raise NcapError(f"{what} {bucket}: {_problem(exc, code, bucket, aws.region)}") from None
    make(aws, bucket)
    say(f"created the {what} {bucket} in {aws.where()} (encrypted, public access blocked)")


def _problem(exc, code: str, bucket: str, region: str) -> str:
    if code in MISSING:
        return (f"it does not exist: create it once (aws s3 mb s3://{bucket} --region {region}), "
                f"choose another, or leave it out to use the default bucket")
    if code in FORBIDDEN:
        return "it belongs to another account or you may not use it"
    return explain(exc, "cannot check it").args[0]


def make(aws, bucket: str) -> None:
    location = {} if aws.region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": aws.region}}
    aws.s3.create_bucket(Bucket=bucket, **location)
    aws.s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    aws.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
