"""The one seam to AWS: boto3 clients made once per process (they are thread-safe), and error
codes read from botocore exceptions. AWS_ENDPOINT_URL (e.g. a local moto server) is honoured by
boto3 itself."""
from __future__ import annotations

from dataclasses import dataclass

MISSING = ("404", "NoSuchKey", "NotFound")
PRECONDITION = ("PreconditionFailed", "412")
CONFLICT = ("ConditionalRequestConflict", "409")
RECEIPT_GONE = ("ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight",
                "AWS.SimpleQueueService.NonExistentQueue")


@dataclass(frozen=True)
class Clients:
    s3: object
    sqs: object
    sns: object


def make_clients(region: str, concurrency: int, poll_seconds: int) -> Clients:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name=region)
    pool = 4 * concurrency + 4  # per slot: a long poll, a heartbeat, transfers

    def config(read_timeout):
        return Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5,
                      read_timeout=read_timeout, max_pool_connections=pool)

    return Clients(s3=session.client("s3", config=config(60)),
                   sqs=session.client("sqs", config=config(poll_seconds + 20)),
                   sns=session.client("sns", config=config(20)))


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code or (str(status) if status else "")


def is_error(error: BaseException, codes) -> bool:
    return error_code(error) in codes


def describe(error: BaseException) -> str:
    """A short description of an error for logs and reasons: its AWS code, else its type (never
    its message, which may echo a request)."""
    return error_code(error) or type(error).__name__
