"""boto3 clients for one region and one endpoint (AWS, or an emulator), made when first used."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"


def endpoint_from(flag: str | None) -> str | None:
    """--endpoint-url, else AWS_ENDPOINT_URL (which boto3 and the sam CLI honour as well)."""
    return flag or os.environ.get(ENDPOINT_VARIABLE) or None


@dataclass
class Aws:
    """Lazily made boto3 clients, all for one region, one endpoint (None: AWS itself) and one
    identity (None: boto3's usual credential chain)."""

    region: str
    endpoint: str | None = None
    credentials: tuple[str, str] | None = None  # (access key id, secret access key)
    _clients: dict = field(default_factory=dict, repr=False)
    _session: Any = field(default=None, repr=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session().client(service, endpoint_url=self.endpoint)
        return self._clients[service]

    def session(self) -> Any:
        if self._session is None:
            import boto3

            key, secret = self.credentials or (None, None)
            self._session = boto3.Session(region_name=self.region, aws_access_key_id=key,
                                          aws_secret_access_key=secret)
        return self._session

    def single_attempt(self, service: str, read_timeout: float = 600) -> Any:
        """A client that sends each request once and waits long for its answer: for calls that
        must not be repeated (an emulator that answers a CreateStack slowly would otherwise get it
        twice, and make every resource twice)."""
        from botocore.config import Config

        config = Config(retries={"total_max_attempts": 1}, read_timeout=read_timeout)
        return self.session().client(service, endpoint_url=self.endpoint, config=config)

    def where(self) -> str:
        return f"{self.region} at {self.endpoint}" if self.endpoint else self.region

    @property
    def cloudformation(self) -> Any:
        return self.client("cloudformation")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    @property
    def sns(self) -> Any:
        return self.client("sns")

    @property
    def iam(self) -> Any:
        return self.client("iam")

    @property
    def secretsmanager(self) -> Any:
        return self.client("secretsmanager")

    @property
    def autoscaling(self) -> Any:
        return self.client("autoscaling")

    @property
    def cloudwatch(self) -> Any:
        return self.client("cloudwatch")

    @property
    def sts(self) -> Any:
        return self.client("sts")

    def account(self) -> str:
        return str(self.sts.get_caller_identity()["Account"])
