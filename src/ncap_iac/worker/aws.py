"""The worker's seam to AWS: boto3 clients made once per process (they are thread-safe, and sized
for its slots) with the instance role's credentials; S3 clients per lab with credentials that
renew themselves (credentials.py assumes the lab's job role); errors described for logs (the AWS
error codes are in the job contract). AWS_ENDPOINT_URL (e.g. a local moto server) is honoured by
boto3 itself."""
from __future__ import annotations

from dataclasses import dataclass

from ..lambda_repo.ncap_lambda.contract import error_code


@dataclass(frozen=True)
class Clients:
    """The instance role's clients, and a maker of S3 clients for lab sessions."""
    s3: object  # the instance role's: the ledger only (it reaches no lab's data)
    sqs: object
    sns: object
    sts: object
    autoscaling: object
    region: str
    pool: int
    credentials: object = None  # () -> the instance role's frozen botocore credentials (signed calls of its own)

    def lab_s3(self, assume):
        """An S3 client whose credentials come from `assume()` (a credentials.Session) and are
        assumed again by botocore before they expire."""
        import boto3
        import botocore.session

        core = botocore.session.get_session()
        core.get_component("credential_provider").insert_before("env", _AssumedRole(assume))
        return boto3.session.Session(botocore_session=core, region_name=self.region).client(
            "s3", config=_config(60, self.pool))


def _AssumedRole(assume):
    """A botocore credential provider of renewing credentials from `assume()`."""
    from botocore.credentials import CredentialProvider, RefreshableCredentials

    class AssumedRole(CredentialProvider):
        METHOD = CANONICAL_NAME = "ncap-job-role"

        def load(self):
            return RefreshableCredentials.create_from_metadata(
                metadata=assume().as_botocore_metadata(), method=self.METHOD,
                refresh_using=lambda: assume().as_botocore_metadata())

    return AssumedRole()


def _config(read_timeout: float, pool: int):
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5,
                  read_timeout=read_timeout, max_pool_connections=pool)


def make_clients(region: str, concurrency: int, poll_seconds: int) -> Clients:
    import boto3

    session = boto3.session.Session(region_name=region)
    pool = 4 * concurrency + 4  # per slot: a long poll, a heartbeat, transfers
    return Clients(s3=session.client("s3", config=_config(20, pool)),
                   sqs=session.client("sqs", config=_config(poll_seconds + 20, pool)),
                   sns=session.client("sns", config=_config(20, pool)),
                   sts=session.client("sts", config=_config(20, pool)),
                   autoscaling=session.client("autoscaling", config=_config(20, pool)),
                   region=region, pool=pool,
                   credentials=lambda: frozen_credentials(session))


def frozen_credentials(session):
    """The session's current credentials (the instance role's, renewed by botocore)."""
    found = session.get_credentials()
    if found is None:
        raise RuntimeError("no AWS credentials")
    return found.get_frozen_credentials()


def describe(error: BaseException) -> str:
    """A short description of an error for logs and reasons: its AWS code, else its type (never
    its message, which may echo a request)."""
    return error_code(error) or type(error).__name__
