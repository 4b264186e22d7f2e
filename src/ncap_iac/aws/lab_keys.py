"""Lab users' access keys, read from the Secrets Manager secrets the credentials function made.
A stack's CredentialsSecrets<Lab> outputs name each user's secret ("user=secretArn" pairs); a
stack without outputs (one an emulator made from a change set) is read by the secrets' names,
SecretPrefix + user, from the template's credentials resources."""
from __future__ import annotations

import json
from typing import Any

from .. import names
from ..errors import NcapError
from .errors import aws_errors, explain


def lab_users(template: dict) -> dict[str, tuple[str, str]]:
    """user -> (lab, secret name) for every user a (SAM) template creates."""
    resources = template.get("Resources", {})
    users_by_id = {k: r["Properties"]["UserName"] for k, r in resources.items() if r["Type"] == "AWS::IAM::User"}
    found: dict[str, tuple[str, str]] = {}
    for resource in resources.values():
        if resource["Type"] != names.CREDENTIALS_TYPE:
            continue
        props = resource["Properties"]
        for user in props["Users"]:
            name = str(users_by_id.get(user.get("Ref")) if isinstance(user, dict) else user)
            found[name] = (props["Lab"], props["SecretPrefix"] + name)
    return found


def secret_ids(stack_outputs: dict, users: dict, chosen: list[str]) -> dict[str, str]:
    """user -> secret id: the ARN the stack's outputs give, else the secret's name."""
    from_outputs: dict[str, str] = {}
    for key, value in stack_outputs.items():
        if key.startswith(names.CREDENTIALS_OUTPUT_PREFIX):
            from_outputs.update(pair.split("=", 1) for pair in value.split(",") if "=" in pair)
    return {user: from_outputs.get(user) or users[user][1] for user in chosen}


def read_key(secrets: Any, secret_id: str, user: str) -> dict:
    """{"AccessKeyId", "SecretAccessKey", ...} of one user."""
    try:
        value = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
    except aws_errors() as exc:
        raise explain(exc, f"cannot read the credentials of {user} ({secret_id})") from None
    if not isinstance(value, dict) or not {"AccessKeyId", "SecretAccessKey"} <= set(value):
        raise NcapError(f"secret {secret_id} of {user} holds no access key")
    return value


def read_keys(aws: Any, template: dict, stack_outputs: dict, chosen: list[str] | None = None) -> dict:
    """user -> (lab, key) for the chosen users (default: every user the template creates)."""
    users = lab_users(template)
    chosen = sorted(users) if chosen is None else chosen
    ids = secret_ids(stack_outputs, users, chosen)
    return {user: (users[user][0], read_key(aws.secretsmanager, ids[user], user)) for user in chosen}
