"""The account check before a deployment, against a moto account that already holds things the
pipeline wants: a user, the bucket name, an affiliate served by another pipeline."""
import pytest

from deploy_helpers import ARTIFACTS, PACKAGE_CACHE, client, ncap, pipeline_copy, translated_count

PROBLEM = "account check: problem: "


@pytest.fixture
def demo(tmp_path, moto_server, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(PACKAGE_CACHE))
    return pipeline_copy(tmp_path, "local-demo")


def check(pipeline_dir, allow_shared=False):
    from ncap_iac.aws.clients import Aws
    from ncap_iac.deploy import checks
    from ncap_iac.deploy.target import load_pipeline

    pipeline = load_pipeline(pipeline_dir, lambda line: None)
    return checks.check_account(pipeline, Aws("us-east-1"), {}, allow_shared)


def test_a_conflicting_user_and_bucket_stop_the_deployment(capsys, demo):
    client("iam").create_user(UserName="alice")
    client("s3").create_bucket(Bucket="ncap-local-demo")
    code, out, err = ncap(capsys, "deploy", demo, "--method", "changeset", "--s3-bucket", ARTIFACTS, "--yes")
    assert code == 1
    problems = [line[len(PROBLEM):] for line in out.splitlines() if line.startswith(PROBLEM)]
    assert len(problems) == 2, out
    assert problems[0].startswith("IAM user alice already exists (path /, created ")
    assert problems[0].endswith("not made by an ncap pipeline): this stack cannot create it. Rename the user in the "
                                "config, or list it under the lab's ExistingUserNames to give the existing user "
                                "the lab's access")
    assert problems[1] == ("bucket ncap-local-demo already exists in this account outside this stack (perhaps "
                           "retained, with its data, from an earlier deployment): empty and delete it first, or "
                           "choose another pipeline name")
    assert err == ("the account check found 2 problem(s) (above): nothing was deployed (--skip-account-check "
                   "deploys anyway, and CloudFormation will then fail on them)\n")
    assert "creating a change set" not in out
    assert client("cloudformation").list_stacks()["StackSummaries"] == []


def test_diff_reports_the_same_problems_as_notes_of_a_diff(capsys, demo):
    client("iam").create_user(UserName="bob", Path="/ncap/another-pipeline/")
    code, out, err = ncap(capsys, "diff", demo, "--s3-bucket", ARTIFACTS)
    assert code == 0, err
    assert ("account check: problem: IAM user bob already exists (a user of pipeline another-pipeline, "
            "path /ncap/another-pipeline/)") in out
    assert f"{translated_count(out)} to add" in out


def test_an_affiliate_of_another_pipeline_is_reported_unless_allowed(demo):
    iam = client("iam")
    iam.create_group(GroupName="imaging-lab-b")
    iam.create_user(UserName="someone", Path="/ncap/imaging/")
    iam.create_group(GroupName="not-a-pipeline-lab-a")  # no stack and no users of that name
    findings = check(demo)
    assert [(f.kind, f.blocking) for f in findings] == [("affiliate", True)]
    assert findings[0].message == ("affiliate lab-b is already served by pipeline imaging (IAM group "
                                   "imaging-lab-b); if the lab is meant to use both, pass --allow-shared-affiliates")
    assert [(f.kind, f.blocking) for f in check(demo, allow_shared=True)] == [("affiliate", False)]


def test_the_pipelines_own_users_and_a_free_account_pass(demo):
    client("iam").create_user(UserName="alice", Path="/ncap/ncap-local-demo/")
    assert check(demo) == []


def test_missing_existing_users_are_reported(tmp_path, moto_server):
    def existing(document):
        document["UXData"]["Affiliates"][0]["ExistingUserNames"] = ["ghost"]

    folder = pipeline_copy(tmp_path, "local-demo", edit=existing)
    assert [f.message for f in check(folder)] == [
        "ExistingUserNames: IAM user ghost does not exist, so it cannot be added to its lab's group"]
