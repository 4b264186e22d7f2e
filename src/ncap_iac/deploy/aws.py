"""The one seam through which the deploy commands reach AWS (or an emulator): boto3 clients for
one region and endpoint, and the few error helpers the other modules share."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..errors import NcapError

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"


def endpoint_from(flag: str | None) -> str | None:
    """--endpoint-url, else AWS_ENDPOINT_URL (which boto3 and the sam CLI honour as well)."""
    return flag or os.environ.get(ENDPOINT_VARIABLE) or None


@dataclass
class Aws:
    """Lazily made boto3 clients, all for one region and (optionally) one endpoint."""

    region: str
    endpoint: str | None = None
    _clients: dict = field(default_factory=dict, repr=False)
    _session: object = field(default=None, repr=False)

    def client(self, service: str):
        if service not in self._clients:
            if self._session is None:
                import boto3

                self._session = boto3.Session(region_name=self.region)
            self._clients[service] = self._session.client(service, endpoint_url=self.endpoint)
        return self._clients[service]

    @property
    def cloudformation(self):
        return self.client("cloudformation")

    @property
    def s3(self):
        return self.client("s3")

    @property
    def iam(self):
        return self.client("iam")

    def where(self) -> str:
        return f"{self.region} at {self.endpoint}" if self.endpoint else self.region


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)


def aws_errors():
    """The exception types that mean 'AWS said no' or 'AWS could not be reached'."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def explain(exc: BaseException, doing: str) -> NcapError:
    """One clean line for an AWS failure, naming the missing credentials when that is the cause."""
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError

    if isinstance(exc, NoCredentialsError):
        return NcapError(f"{doing}: no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                         f"AWS_SECRET_ACCESS_KEY; in CI assume a role through OIDC)")
    if isinstance(exc, EndpointConnectionError):
        return NcapError(f"{doing}: cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}")
    if isinstance(exc, NoRegionError):
        return NcapError(f"{doing}: no region")
    code = error_code(exc)
    return NcapError(f"{doing}: {code + ': ' if code else ''}{error_message(exc)}")
