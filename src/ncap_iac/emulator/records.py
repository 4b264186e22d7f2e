"""What the emulator's CloudFormation forgets: the physical id each custom resource's handler
answered (moto keeps an id of its own, and lists a custom resource no more once an update has
changed it). Kept in a bucket of the emulator's own, one object per stack, so that an Update or a
Delete sent by a later command carries the id the Create answered, as CloudFormation's would."""
from __future__ import annotations

import json
from typing import Any

from ..aws.errors import aws_errors, error_code

BUCKET = "ncap-emulator-records"


def _key(stack_id: str) -> str:
    """By the stack's name (an ARN's second part): callers name a stack either way."""
    name = stack_id.split("/")[1] if stack_id.startswith("arn:") else stack_id
    return f"physical-ids/{name}.json"


def load(aws: Any, stack_id: str) -> dict:
    """logical id -> the physical id its handler answered ({} when nothing is recorded)."""
    try:
        return json.loads(aws.s3.get_object(Bucket=BUCKET, Key=_key(stack_id))["Body"].read())
    except aws_errors() as exc:
        if error_code(exc) in ("NoSuchKey", "NoSuchBucket", "404"):
            return {}
        raise


def save(aws: Any, stack_id: str, recorded: dict) -> None:
    """Record the ids; nothing recorded any more (the stack is going) leaves no trace."""
    if not recorded:
        return _forget(aws, stack_id)
    try:
        aws.s3.put_object(Bucket=BUCKET, Key=_key(stack_id), Body=json.dumps(recorded, sort_keys=True).encode())
    except aws_errors() as exc:
        if error_code(exc) != "NoSuchBucket":
            raise
        aws.s3.create_bucket(Bucket=BUCKET)
        aws.s3.put_object(Bucket=BUCKET, Key=_key(stack_id), Body=json.dumps(recorded, sort_keys=True).encode())


def _forget(aws: Any, stack_id: str) -> None:
    try:
        aws.s3.delete_object(Bucket=BUCKET, Key=_key(stack_id))
        if not aws.s3.list_objects_v2(Bucket=BUCKET, MaxKeys=1).get("Contents"):
            aws.s3.delete_bucket(Bucket=BUCKET)
    except aws_errors() as exc:
        if error_code(exc) not in ("NoSuchBucket", "BucketNotEmpty", "404"):
            raise
