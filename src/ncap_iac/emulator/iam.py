"""IAM groups and their inline policies, made through the regular APIs for the emulator, whose
CloudFormation skips them (provisioners.py registers these functions for AWS::IAM::Group). The
labs' users and memberships are the users function's work (lambda_repo/users.py)."""
from __future__ import annotations

import json
from typing import Any

from ..aws.errors import aws_errors, error_code
from .provisioners_base import GONE, ignore_gone


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


def find_group(logical_id: str, props: dict, aws: Any, stack: str) -> str | None:
    return props.get("GroupName")
