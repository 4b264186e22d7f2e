"""The artifact bucket: a named one must exist (on AWS), the account's default one is made on
first use, encrypted and private, and said so in one line; on an emulator any bucket is made.
Which bucket: --s3-bucket, then the config's Deploy.ArtifactBucket, then the default one."""
import pytest
from botocore.exceptions import ClientError

from ncap_iac.aws.clients import Aws
from ncap_iac.deploy import buckets
from ncap_iac.errors import NcapError

from deploy_helpers import assert_clean_failure, cli, pipeline_copy


def test_a_missing_named_bucket_on_aws_is_a_clean_error(moto_server):
    with pytest.raises(NcapError, match=r"artifact bucket nope: it does not exist: create it once "
                                        r"\(aws s3 mb s3://nope --region us-east-1\)"):
        buckets.artifact_bucket(Aws("us-east-1"), "nope", emulator=False, say=print)


def test_the_default_bucket_is_made_once_encrypted_and_private(moto_server):
    aws, said = Aws("us-east-1"), []
    name = buckets.artifact_bucket(aws, None, emulator=False, say=said.append)
    assert name == f"ncap-artifacts-{aws.account()}-us-east-1"
    assert said == [f"created the default artifact bucket {name} in us-east-1 (encrypted, public access blocked)"]
    rules = aws.s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(aws.s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())
    assert buckets.artifact_bucket(aws, None, emulator=False, say=said.append) == name and len(said) == 1


def test_a_default_bucket_outside_us_east_1_has_its_location(moto_server):
    aws = Aws("eu-west-1")
    name = buckets.artifact_bucket(aws, None, emulator=False, say=print)
    assert aws.s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"


def test_on_an_emulator_a_named_bucket_is_made(moto_server):
    aws, said = Aws("us-east-1"), []
    assert buckets.artifact_bucket(aws, "arts", emulator=True, say=said.append) == "arts"
    assert said and aws.s3.head_bucket(Bucket="arts")


def test_a_bucket_of_another_account_is_named_as_such():
    refused = ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadBucket")
    assert buckets._problem(refused, "403", "b", "us-east-1") == "it belongs to another account or you may not use it"


def test_diff_and_a_changeset_deploy_need_no_bucket_on_an_emulator(capsys, tmp_path, moto_server, monkeypatch):
    from deploy_helpers import PACKAGE_CACHE, ncap

    monkeypatch.setenv("XDG_CACHE_HOME", str(PACKAGE_CACHE))
    monkeypatch.chdir(tmp_path)
    demo = pipeline_copy(tmp_path, "local-demo")
    default = "ncap-artifacts-123456789012-us-east-1"
    code, out, err = ncap(capsys, "diff", demo)
    assert code == 0, err
    assert f"created the default artifact bucket {default}" in out and "nothing was deployed" in out
    code, out, err = ncap(capsys, "deploy", demo, "--method", "changeset", "--yes")
    assert code == 0, err
    assert "deploy of ncap-local-demo: CREATE_COMPLETE" in out and "created the default" not in out
    keys = [o["Key"] for o in Aws("us-east-1").s3.list_objects_v2(Bucket=default)["Contents"]]
    # the functions' code under the pipeline's prefix; the worker agent and analysis code, shared by
    # every pipeline that ships the same bytes, under ncap/
    assert keys and all(k.startswith(("ncap-local-demo/", "ncap/agent/", "ncap/code/")) for k in keys)
    assert sum(k.startswith("ncap/agent/") for k in keys) == 1 and sum(k.startswith("ncap/code/") for k in keys) == 1


def test_packaging_without_an_artifact_bucket_needs_the_account_for_the_default_one(tmp_path):
    import os

    folder = pipeline_copy(tmp_path, "local-demo")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_MAX_ATTEMPTS": "1"}
    assert_clean_failure(cli("package", folder, "--endpoint-url", "http://localhost:9", env=env),
                         "finding the default artifact bucket (it is named after the account): cannot reach "
                         "http://localhost:9/: is it running, and is the address right?")


def test_the_artifact_bucket_comes_from_the_flag_then_the_config_then_the_default(tmp_path, moto_server):
    from ncap_iac.deploy.changeset import prepare
    from ncap_iac.deploy.options import ShipOptions, TargetOptions

    folder = pipeline_copy(tmp_path, "local-demo", edit=lambda d: d.update(Deploy={"ArtifactBucket": "lab-artifacts"}))
    assert prepare(ShipOptions(folder), print).bucket == "lab-artifacts"
    assert prepare(ShipOptions(folder, TargetOptions(s3_bucket="other")), print).bucket == "other"
    plain = pipeline_copy(tmp_path / "plain", "local-demo")
    assert prepare(ShipOptions(plain), print).bucket == "ncap-artifacts-123456789012-us-east-1"
