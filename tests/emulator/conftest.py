"""The session's moto server with IAM enforced, for the tests of what the emulator enforces: an
administrator (an IAM user allowed everything) sets up users, roles and buckets, and each test
acts with the credentials it made. Enforcement is switched off again after each test (moto's
setting is the whole process's)."""
import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
REGION = "us-east-1"


def post(endpoint: str, path: str, body: bytes) -> dict:
    request = urllib.request.Request(f"{endpoint}{path}", data=body, method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"{}")


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def denied(call) -> bool:
    """True when the call fails with 403 AccessDenied; the call's other errors are raised."""
    try:
        call()
    except ClientError as error:
        if error.response["ResponseMetadata"]["HTTPStatusCode"] == 403:
            return True
        raise
    return False


def error_of(call) -> tuple[int, str] | None:
    """(HTTP status, error code) of a failed call, None when it succeeded."""
    try:
        call()
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]
    return None


class Enforced:
    """Clients of the enforcing emulator; `admin` may do anything."""

    def __init__(self, endpoint: str, admin: tuple[str, str]):
        self.endpoint, self.admin = endpoint, admin

    def client(self, service: str, keys: tuple | None = None):
        key, secret, *token = keys or self.admin
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=key,
                            aws_secret_access_key=secret, aws_session_token=token[0] if token else None)

    def user(self, name: str, *statements: dict, path: str = "/", groups: tuple = ()) -> tuple[str, str]:
        iam = self.client("iam")
        iam.create_user(UserName=name, Path=path)
        if statements:
            iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=document(*statements))
        for group in groups:
            iam.add_user_to_group(GroupName=group, UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def role(self, name: str, trust: dict, *statements: dict, path: str = "/") -> str:
        iam = self.client("iam")
        arn = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=document(trust))["Role"]["Arn"]
        if statements:
            iam.put_role_policy(RoleName=name, PolicyName="own", PolicyDocument=document(*statements))
        return arn

    def assume(self, keys: tuple, role_arn: str, session: str = "session-1", **more) -> tuple[str, str, str]:
        found = self.client("sts", keys).assume_role(RoleArn=role_arn, RoleSessionName=session, **more)["Credentials"]
        return found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"]

    def bucket(self, name: str, *keys: str) -> None:
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        for key in keys:
            s3.put_object(Bucket=name, Key=key, Body=key.encode())


@pytest.fixture
def enforced(moto_server):
    """The emptied session server, an administrator made, then IAM enforced (off again after)."""
    iam = boto3.client("iam", endpoint_url=moto_server, region_name=REGION)
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=document(allow("*")))
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    previous = post(moto_server, "/moto-api/reset-auth", b"0")["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
    try:
        yield Enforced(moto_server, (key["AccessKeyId"], key["SecretAccessKey"]))
    finally:
        post(moto_server, "/moto-api/reset-auth", previous.encode())
