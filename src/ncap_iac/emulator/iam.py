"""IAM groups, group membership, users' links (groups, console logins) and secrets, made through
the regular APIs for the emulator, whose CloudFormation skips or ignores them (see
provisioners.py, which registers these functions per resource type)."""
from __future__ import annotations

import json
import re
from typing import Any

from ..aws.errors import aws_errors, error_code
from .provisioners_base import GONE, ignore_gone

_DYNAMIC_SECRET = re.compile(r"\{\{resolve:secretsmanager:(.+?):SecretString:(\w+)\}\}")


# --- secrets --------------------------------------------------------------------------------

def create_secret(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    generate = props.get("GenerateSecretString", {})
    value = json.loads(generate.get("SecretStringTemplate", "{}"))
    value[generate.get("GenerateStringKey", "password")] = aws.secretsmanager.get_random_password(
        PasswordLength=generate.get("PasswordLength", 24),
        ExcludeCharacters=generate.get("ExcludeCharacters", ""))["RandomPassword"]
    return aws.secretsmanager.create_secret(Name=props["Name"], SecretString=json.dumps(value),
                                            Description=props.get("Description", ""))["ARN"]


def keep_secret(logical_id: str, old: dict, new: dict, aws: Any, stack: str) -> str:
    """A generated secret keeps its value on update (CloudFormation regenerates it only when
    GenerateSecretString changes, which the templates never do)."""
    return aws.secretsmanager.describe_secret(SecretId=new["Name"])["ARN"]


def delete_secret(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    ignore_gone(lambda: aws.secretsmanager.delete_secret(SecretId=props["Name"], ForceDeleteWithoutRecovery=True))


# --- groups and membership ------------------------------------------------------------------

def create_group(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    aws.iam.create_group(GroupName=props["GroupName"], **({"Path": props["Path"]} if "Path" in props else {}))
    _put_group_policies(props, aws)
    return props["GroupName"]


def _put_group_policies(props: dict, aws: Any) -> None:
    for policy in props.get("Policies", []):
        aws.iam.put_group_policy(GroupName=props["GroupName"], PolicyName=policy["PolicyName"],
                                 PolicyDocument=json.dumps(policy["PolicyDocument"]))


def update_group(logical_id: str, old: dict, new: dict, aws: Any, stack: str) -> str:
    _put_group_policies(new, aws)
    kept = {p["PolicyName"] for p in new.get("Policies", [])}
    for policy in old.get("Policies", []):
        if policy["PolicyName"] not in kept:
            ignore_gone(lambda: aws.iam.delete_group_policy(GroupName=new["GroupName"],
                                                             PolicyName=policy["PolicyName"]))
    return new["GroupName"]


def delete_group(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    group = props["GroupName"]
    try:
        members = aws.iam.get_group(GroupName=group)["Users"]
    except aws_errors() as exc:
        if error_code(exc) in GONE:
            return
        raise
    for user in members:  # moto keeps members whose user is already deleted
        ignore_gone(lambda: aws.iam.remove_user_from_group(GroupName=group, UserName=user["UserName"]))
    for policy in aws.iam.list_group_policies(GroupName=group)["PolicyNames"]:
        aws.iam.delete_group_policy(GroupName=group, PolicyName=policy)
    aws.iam.delete_group(GroupName=group)


def add_users(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    for user in props["Users"]:  # users that exist already in the cloud; stand-ins locally
        if not _user_exists(aws, user):
            aws.iam.create_user(UserName=user)
        aws.iam.add_user_to_group(GroupName=props["GroupName"], UserName=user)
    return f"{props['GroupName']}|{','.join(props['Users'])}"


def update_users(logical_id: str, old: dict, new: dict, aws: Any, stack: str) -> str:
    remove_users(logical_id, {**old, "Users": [u for u in old["Users"] if u not in new["Users"]]}, aws, stack)
    return add_users(logical_id, new, aws, stack)


def remove_users(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    for user in props["Users"]:
        ignore_gone(lambda: aws.iam.remove_user_from_group(GroupName=props["GroupName"], UserName=user))


def _user_exists(aws: Any, user: str) -> bool:
    try:
        aws.iam.get_user(UserName=user)
        return True
    except aws_errors() as exc:
        if error_code(exc) == "NoSuchEntity":
            return False
        raise


def link_user(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    """Group membership and console login of a user moto made (it ignores both)."""
    for group in props.get("Groups", []):
        aws.iam.add_user_to_group(GroupName=group, UserName=props["UserName"])
    if "LoginProfile" in props:
        password = _dynamic_secret(props["LoginProfile"]["Password"], aws)
        aws.iam.create_login_profile(UserName=props["UserName"], Password=password, PasswordResetRequired=True)
    return props["UserName"]


def relink_user(logical_id: str, old: dict, new: dict, aws: Any, stack: str) -> str:
    for group in set(old.get("Groups", [])) - set(new.get("Groups", [])):
        ignore_gone(lambda: aws.iam.remove_user_from_group(GroupName=group, UserName=new["UserName"]))
    for group in new.get("Groups", []):
        aws.iam.add_user_to_group(GroupName=group, UserName=new["UserName"])
    if "LoginProfile" in new and "LoginProfile" not in old:
        password = _dynamic_secret(new["LoginProfile"]["Password"], aws)
        aws.iam.create_login_profile(UserName=new["UserName"], Password=password, PasswordResetRequired=True)
    return new["UserName"]


def _dynamic_secret(reference: str, aws: Any) -> str:
    match = _DYNAMIC_SECRET.fullmatch(reference)
    if match is None:
        return reference
    secret_id, key = match.groups()
    return json.loads(aws.secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"])[key]


def find_group(logical_id: str, props: dict, aws: Any, stack: str) -> str | None:
    return props.get("GroupName")


def find_secret(logical_id: str, props: dict, aws: Any, stack: str) -> str | None:
    try:
        return aws.secretsmanager.describe_secret(SecretId=props["Name"])["ARN"]
    except aws_errors() as exc:
        if error_code(exc) in GONE:
            return None
        raise
