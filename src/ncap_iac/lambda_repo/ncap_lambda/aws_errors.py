"""Which AWS errors a later attempt can clear (the codes themselves are in contract.py)."""
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoCoreConnectionError

from .contract import RETRYABLE, error_code, http_status, is_error

__all__ = ["RetryLater", "error_code", "is_error", "is_retryable"]


class RetryLater(RuntimeError):
    """A condition a later attempt can clear (the handler raises it so that Lambda retries)."""


def is_retryable(error):
    """True when a later attempt could succeed: throttling, a 5xx, a timeout, a lost connection."""
    if isinstance(error, (RetryLater, ConnectionError, TimeoutError, BotoCoreConnectionError,
                          HTTPClientError)):
        return True
    if not isinstance(error, ClientError):
        return False
    return error_code(error) in RETRYABLE or http_status(error) >= 500
