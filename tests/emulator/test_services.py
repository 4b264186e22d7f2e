"""services.py on a real moto server with IAM enforced: the AWS services' stand-in gets credentials
for the roles that trust a service (and for no other role), and those credentials act as the role."""
import os
import subprocess
import sys
from datetime import datetime

import pytest

from ncap_iac.aws.clients import Aws
from ncap_iac.emulator.services import SERVICES_PATH, SERVICES_USER, role_credentials, service_user

from .conftest import ACCOUNT, REGION, allow, denied, deny, document

BUCKET = "ncap-services"
OBJECTS = f"arn:aws:s3:::{BUCKET}"


def service_trust(*services: str) -> dict:
    return {"Effect": "Allow", "Principal": {"Service": list(services)}, "Action": "sts:AssumeRole"}


@pytest.fixture
def services(enforced):
    enforced.bucket(BUCKET, "lab-a/inputs/a.csv", "lab-b/inputs/b.csv")
    return enforced, service_user(Aws(REGION, enforced.endpoint, enforced.admin))


def test_the_services_user_is_made_once(services):
    enforced, keys = services
    assert service_user(Aws(REGION, enforced.endpoint, enforced.admin)) == keys
    iam = enforced.client("iam")
    (user,) = iam.list_users(PathPrefix=SERVICES_PATH)["Users"]
    assert user["UserName"] == SERVICES_USER
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=SERVICES_USER)["AccessKeyMetadata"]] == [keys[0]]


def test_the_services_user_may_only_assume_roles(services):
    enforced, keys = services
    assert denied(lambda: enforced.client("s3", keys).get_object(Bucket=BUCKET, Key="lab-a/inputs/a.csv"))
    assert denied(lambda: enforced.client("iam", keys).list_users())


@pytest.mark.parametrize("service", ["lambda.amazonaws.com", "ec2.amazonaws.com"])
def test_role_credentials_act_as_a_role_that_trusts_a_service(services, service):
    enforced, keys = services
    role = enforced.role("submit", service_trust(service), allow("s3:GetObject", f"{OBJECTS}/lab-a/*"),
                         path="/ncap/p/")
    environment = role_credentials(enforced.endpoint, REGION, keys, role, "submit-function")
    assert set(environment) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                "AWS_CREDENTIAL_EXPIRATION"}
    assert datetime.fromisoformat(environment["AWS_CREDENTIAL_EXPIRATION"]) > datetime.now().astimezone()
    credentials = (environment["AWS_ACCESS_KEY_ID"], environment["AWS_SECRET_ACCESS_KEY"], environment["AWS_SESSION_TOKEN"])
    assert enforced.client("sts", credentials).get_caller_identity()["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/submit/submit-function")
    s3 = enforced.client("s3", credentials)
    assert s3.get_object(Bucket=BUCKET, Key="lab-a/inputs/a.csv")["Body"].read() == b"lab-a/inputs/a.csv"
    assert denied(lambda: s3.get_object(Bucket=BUCKET, Key="lab-b/inputs/b.csv"))


def test_a_process_runs_with_the_environment_role_credentials_give(services):
    enforced, keys = services
    role = enforced.role("worker", service_trust("ec2.amazonaws.com"), allow("s3:GetObject", f"{OBJECTS}/lab-b/*"))
    environment = role_credentials(enforced.endpoint, REGION, keys, role, "i-0123456789")
    script = ("import boto3; print(boto3.client('sts').get_caller_identity()['Arn']); "
              f"print(boto3.client('s3').get_object(Bucket='{BUCKET}', Key='lab-b/inputs/b.csv')['Body'].read())")
    child = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    child.update(environment, AWS_ENDPOINT_URL=enforced.endpoint, AWS_DEFAULT_REGION=REGION)
    out = subprocess.run([sys.executable, "-c", script], env=child, capture_output=True, text=True, check=True).stdout
    assert out.split() == [f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/i-0123456789", "b'lab-b/inputs/b.csv'"]


def test_a_session_policy_narrows_the_role(services):
    enforced, keys = services
    role = enforced.role("job", service_trust("ec2.amazonaws.com"), allow("s3:GetObject", f"{OBJECTS}/*"))
    own_lab = {"Version": "2012-10-17", "Statement": [allow("s3:GetObject", f"{OBJECTS}/lab-a/*")]}
    environment = role_credentials(enforced.endpoint, REGION, keys, role, "job-1", policy=own_lab, duration=900)
    s3 = enforced.client("s3", (environment["AWS_ACCESS_KEY_ID"], environment["AWS_SECRET_ACCESS_KEY"],
                                environment["AWS_SESSION_TOKEN"]))
    assert not denied(lambda: s3.get_object(Bucket=BUCKET, Key="lab-a/inputs/a.csv"))
    assert denied(lambda: s3.get_object(Bucket=BUCKET, Key="lab-b/inputs/b.csv"))


@pytest.mark.parametrize("name, trust", [
    ("the account", {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}),
    ("everyone", {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}),
    ("a user", {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/admin"}, "Action": "sts:AssumeRole"}),
])
def test_the_services_user_cannot_assume_a_role_that_trusts_no_service(services, name, trust):
    enforced, keys = services
    role = enforced.role("operator", trust, allow("s3:*"))
    assert denied(lambda: role_credentials(enforced.endpoint, REGION, keys, role, "session-1"))


def test_a_trust_policy_deny_or_condition_holds_for_the_services_too(services):
    enforced, keys = services
    iam = enforced.client("iam")
    conditioned = {**service_trust("lambda.amazonaws.com"), "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
    role = iam.create_role(RoleName="in-account", AssumeRolePolicyDocument=document(conditioned))["Role"]["Arn"]
    assert not denied(lambda: role_credentials(enforced.endpoint, REGION, keys, role, "session-1"))
    elsewhere = {**service_trust("lambda.amazonaws.com"), "Condition": {"StringEquals": {"aws:SourceAccount": "999999999999"}}}
    role = iam.create_role(RoleName="elsewhere", AssumeRolePolicyDocument=document(elsewhere))["Role"]["Arn"]
    assert denied(lambda: role_credentials(enforced.endpoint, REGION, keys, role, "session-1"))
    refused = document(service_trust("lambda.amazonaws.com"), {**deny("sts:AssumeRole"), "Principal": {"Service": "lambda.amazonaws.com"}})
    role = iam.create_role(RoleName="refused", AssumeRolePolicyDocument=refused)["Role"]["Arn"]
    assert denied(lambda: role_credentials(enforced.endpoint, REGION, keys, role, "session-1"))


def test_other_users_cannot_assume_a_role_that_trusts_a_service(services):
    enforced, _ = services
    role = enforced.role("submit", service_trust("lambda.amazonaws.com"), allow("s3:*"))
    anyone = enforced.user("alice", allow("sts:AssumeRole"))
    assert denied(lambda: enforced.assume(anyone, role))
    assert denied(lambda: enforced.assume(enforced.admin, role))  # not even the administrator
    elsewhere = enforced.user("impostor", allow("sts:AssumeRole"), path="/ncap-emulator-services/x/")
    assert denied(lambda: enforced.assume(elsewhere, role))  # only that very path is the services'
