"""`ncap deploy` and a directory: the sign-in settings written from the directory stack's outputs;
a directory is not deployed to an emulator; a pipeline with Access stops at the account check
until its directory is deployed; its labs' UserNames are invited (against a moto Cognito)."""
import json

import boto3
import pytest

from ncap_iac.aws.clients import Aws
from ncap_iac.aws.directory import find_pool, invite
from ncap_iac.deploy.directory import settings_of, write_settings
from ncap_iac.errors import NcapError
from ncap_iac.lambda_repo.ncap_lambda.people import function_name, role_path

from deploy_helpers import PACKAGE_CACHE, ncap, pipeline_copy

PROBLEM = "account check: problem: "


def test_the_settings_come_from_the_stacks_outputs(tmp_path):
    outputs = {"UserPoolId": "us-east-1_abc", "UserPoolClientId": "client", "DirectoryUrl": "https://x.on.aws/"}
    path = write_settings(tmp_path, "people", "us-east-1", outputs)
    assert json.loads(path.read_text()) == {"directory": "people", "region": "us-east-1",
                                            "user_pool_id": "us-east-1_abc", "client_id": "client",
                                            "api_url": "https://x.on.aws/"}
    with pytest.raises(NcapError, match="no output UserPoolClientId, DirectoryUrl: is it deployed"):
        settings_of("people", "us-east-1", {"UserPoolId": "x"})


def test_a_directory_is_not_deployed_to_an_emulator(capsys, tmp_path, moto_server):
    folder = pipeline_copy(tmp_path, "lab-directory")
    code, out, err = ncap(capsys, "deploy", folder, "--yes")
    assert code == 1 and "`ncap local up` of a pipeline that uses it runs it there" in err


@pytest.fixture
def with_directory(tmp_path, moto_server, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(PACKAGE_CACHE))
    return pipeline_copy(tmp_path, "directory-demo")


def test_a_pipeline_with_access_waits_for_its_directory(capsys, with_directory):
    code, out, err = ncap(capsys, "deploy", with_directory, "--method", "changeset", "--yes")
    problems = [line[len(PROBLEM):] for line in out.splitlines() if line.startswith(PROBLEM)]
    assert code == 1 and problems == [
        "Access.Directory: directory lab-directory is not deployed in this account (no role "
        "lab-directory-directory): deploy it first (ncap deploy DIRECTORY_DIR)"], out
    from ncap_iac.deploy import checks
    from ncap_iac.deploy.target import load_pipeline

    boto3.client("iam").create_role(RoleName=function_name("lab-directory"), Path=role_path("lab-directory"),
                                    AssumeRolePolicyDocument="{}")
    pipeline = load_pipeline(with_directory, lambda line: None)
    assert [f for f in checks.check_account(pipeline, Aws("us-east-1"), {}) if f.kind == "directory"] == []


def test_usernames_are_invited_to_the_directorys_labs(moto_server):
    aws = Aws("us-east-1")
    cognito = aws.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="lab-directory", UsernameAttributes=["email"])["UserPool"]["Id"]
    cognito.create_group(UserPoolId=pool, GroupName="lab-a")
    cognito.admin_create_user(UserPoolId=pool, Username="known@example.org", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="known@example.org", Password="Known-pass-1",
                                    Permanent=True)
    cognito.admin_create_user(UserPoolId=pool, Username="pending@example.org", MessageAction="SUPPRESS")
    assert find_pool(aws, "lab-directory") == pool and find_pool(aws, "other") is None
    assert invite(aws, pool, "lab-a", ["Known@Example.org", "new@example.org", "pending@example.org"]) == [
        "known@example.org: a member of lab-a", "new@example.org: invited to lab-a",
        "pending@example.org: invited to lab-a again"]  # never signed in: the invitation is sent again
    members = cognito.list_users_in_group(UserPoolId=pool, GroupName="lab-a")["Users"]
    assert len(members) == 3
    assert invite(aws, pool, "lab-z", ["x@example.org"]) == [
        "lab lab-z is not a lab of the directory: add it to the directory's Labs (nobody invited to it)"]
