"""AWS errors in one line a person can act on: which endpoint did not answer, which credentials
are missing, which action was denied on what. The CLI uses `explain` for any botocore error that
reaches it; the library uses it where it knows what it was doing."""
from __future__ import annotations

from ..errors import NcapError
from ..lambda_repo.ncap_lambda.contract import error_code

__all__ = ["aws_errors", "error_code", "error_message", "explain", "is_aws_error"]

DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
          "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "403")


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)


def aws_errors() -> tuple[type[BaseException], ...]:
    """The exception types that mean 'AWS said no' or 'AWS could not be reached'."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def is_aws_error(exc: BaseException) -> bool:
    try:
        return isinstance(exc, aws_errors())
    except ImportError:  # no botocore: nothing can have raised its errors
        return False


def explain(exc: BaseException, doing: str = "AWS") -> NcapError:
    """One clean line for an AWS failure while `doing` something."""
    from botocore import exceptions as bce

    if isinstance(exc, bce.NoCredentialsError):
        return NcapError(f"{doing}: no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                         f"AWS_SECRET_ACCESS_KEY; in CI assume a role through OIDC)")
    if isinstance(exc, bce.PartialCredentialsError):
        return NcapError(f"{doing}: incomplete AWS credentials ({exc})")
    if isinstance(exc, (bce.EndpointConnectionError, bce.ConnectTimeoutError)):
        where = exc.kwargs.get("endpoint_url", "the endpoint")
        return NcapError(f"{doing}: cannot reach {where}: is it running, and is the address right?")
    if isinstance(exc, bce.ReadTimeoutError):
        return NcapError(f"{doing}: {exc.kwargs.get('endpoint_url', 'the endpoint')} did not answer in time")
    if isinstance(exc, bce.NoRegionError):
        return NcapError(f"{doing}: no AWS region: set AWS_DEFAULT_REGION or pass --region")
    return NcapError(f"{doing}: {_client_error(exc)}")


def _client_error(exc: BaseException) -> str:
    code, operation = error_code(exc), getattr(exc, "operation_name", "")
    call = f" the {operation} call" if operation else ""
    if code in DENIED:
        return f"AWS denied{call} ({code}): {error_message(exc)}"
    return f"{code + ': ' if code else ''}{error_message(exc)}"
