"""Lab users' access keys, read from the Secrets Manager secrets the users function made: each
created user's key is in the secret names.key_secret_prefix(pipeline) + its name."""
from __future__ import annotations

import json
from typing import Any

from .. import names
from ..errors import NcapError
from .errors import aws_errors, explain


def read_key(secrets: Any, secret_id: str, user: str) -> dict:
    """{"AccessKeyId", "SecretAccessKey", ...} of one user."""
    try:
        value = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
    except aws_errors() as exc:
        raise explain(exc, f"cannot read the credentials of {user} ({secret_id})") from None
    if not isinstance(value, dict) or not {"AccessKeyId", "SecretAccessKey"} <= set(value):
        raise NcapError(f"secret {secret_id} of {user} holds no access key (yet)")
    return value


def read_keys(aws: Any, pipeline: str, users: list[str]) -> dict[str, dict]:
    """user -> its key, for users the pipeline created."""
    prefix = names.key_secret_prefix(pipeline)
    return {user: read_key(aws.secretsmanager, prefix + user, user) for user in users}
