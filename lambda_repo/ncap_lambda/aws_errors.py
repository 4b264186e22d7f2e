"""Recognising AWS error codes in botocore exceptions."""
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoCoreConnectionError


def error_code(error):
    """The AWS error code of a botocore ClientError ("" for any other exception)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def is_error(error, *codes):
    """True when `error` is an AWS error with one of `codes`."""
    return error_code(error) in codes


class RetryLater(RuntimeError):
    """A condition a later attempt can clear (the handler raises it so that Lambda retries)."""


RETRYABLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown",
    "InternalError", "InternalFailure", "ServiceUnavailable", "RequestTimeout",
    "RequestTimeoutException", "PriorRequestNotComplete", "ConditionalRequestConflict",
    "AWS.SimpleQueueService.ServiceUnavailable"})


def is_retryable(error):
    """True when a later attempt could succeed: throttling, a 5xx, a timeout, a lost connection."""
    if isinstance(error, (RetryLater, ConnectionError, TimeoutError, BotoCoreConnectionError,
                          HTTPClientError)):
        return True
    if not isinstance(error, ClientError):
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return error_code(error) in RETRYABLE_CODES or int(status) >= 500
