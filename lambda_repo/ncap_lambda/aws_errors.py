"""Recognising AWS error codes in botocore exceptions."""
from botocore.exceptions import ClientError


def error_code(error):
    """The AWS error code of a botocore ClientError ("" for any other exception)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def is_error(error, *codes):
    """True when `error` is an AWS error with one of `codes`."""
    return error_code(error) in codes
