"""The worker's seam to AWS: boto3 clients made once per process (they are thread-safe, and sized
for its slots), and errors described for logs (the AWS error codes are in the job contract).
AWS_ENDPOINT_URL (e.g. a local moto server) is honoured by boto3 itself."""
from __future__ import annotations

from dataclasses import dataclass

from ..lambda_repo.ncap_lambda.contract import error_code


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


def describe(error: BaseException) -> str:
    """A short description of an error for logs and reasons: its AWS code, else its type (never
    its message, which may echo a request)."""
    return error_code(error) or type(error).__name__
