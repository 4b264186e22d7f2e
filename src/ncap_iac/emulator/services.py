"""The AWS services' stand-in on the emulator: how the local runtime, which plays Lambda and EC2,
gets credentials for a role that trusts `{"Service": "lambda.amazonaws.com"}` or
`{"Service": "ec2.amazonaws.com"}`.

On AWS only the service itself can assume such a role. On the emulator, an IAM user under the path
SERVICES_PATH is treated as the AWS services (enforce.py): its sts:AssumeRole passes the trust
check of a role whose trust policy names a `Service` principal, and of no other role (no AWS
principal, not even `*`, names it). Its only permission is sts:AssumeRole. Its access key is kept
in the emulator's Secrets Manager under SERVICES_SECRET, so every caller of `service_user` gets the
same key (the key is never written anywhere else).
"""
from __future__ import annotations

import json
from typing import Any

from ..aws.clients import Aws
from ..aws.errors import aws_errors, error_code

SERVICES_PATH = "/ncap-emulator-services/"
SERVICES_USER = "aws-services"
SERVICES_SECRET = "ncap-emulator-services/access-key"
ASSUME_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "AssumeRolesThatTrustAService", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}


def is_services_path(path: str) -> bool:
    return path == SERVICES_PATH


def service_user(aws: Aws) -> tuple[str, str]:
    """(access key id, secret access key) of the services user, made once: the user, its policy,
    its key. `aws` must be allowed IAM and Secrets Manager (the local cloud's administrator)."""
    kept = _kept_key(aws)
    if kept is not None:
        return kept
    _make_user(aws)
    key = aws.iam.create_access_key(UserName=SERVICES_USER)["AccessKey"]
    made = (key["AccessKeyId"], key["SecretAccessKey"])
    try:
        aws.secretsmanager.create_secret(Name=SERVICES_SECRET, SecretString=json.dumps(list(made)))
    except aws_errors() as exc:
        if error_code(exc) != "ResourceExistsException":
            raise
        aws.iam.delete_access_key(UserName=SERVICES_USER, AccessKeyId=made[0])  # another caller made it first
        return _kept_key(aws) or made
    return made


def _kept_key(aws: Aws) -> tuple[str, str] | None:
    try:
        value = aws.secretsmanager.get_secret_value(SecretId=SERVICES_SECRET)["SecretString"]
    except aws_errors() as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    key_id, secret = json.loads(value)
    return key_id, secret


def _make_user(aws: Aws) -> None:
    try:
        aws.iam.create_user(UserName=SERVICES_USER, Path=SERVICES_PATH)
    except aws_errors() as exc:
        if error_code(exc) != "EntityAlreadyExists":
            raise
    aws.iam.put_user_policy(UserName=SERVICES_USER, PolicyName="assume-service-roles",
                            PolicyDocument=json.dumps(ASSUME_ONLY))


def role_credentials(endpoint: str, region: str, service_keys: tuple[str, str], role_arn: str,
                     session_name: str, policy: dict | str | None = None, duration: int = 3600) -> dict[str, str]:
    """The environment a process needs to act as `role_arn`, as the service would give it
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), and AWS_CREDENTIAL_EXPIRATION
    (ISO 8601, which botocore reads too). `policy`, a session policy, narrows the role's
    permissions to what both allow."""
    asked: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name, "DurationSeconds": duration}
    if policy is not None:
        asked["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
    credentials = Aws(region, endpoint, service_keys).client("sts").assume_role(**asked)["Credentials"]
    return {"AWS_ACCESS_KEY_ID": credentials["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
            "AWS_CREDENTIAL_EXPIRATION": credentials["Expiration"].isoformat()}
