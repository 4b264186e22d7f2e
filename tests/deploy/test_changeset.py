"""The whole change-set path against a moto server, in this process: package, change set, diff,
execute, stack events, an update that adds a lab and removes another, a failing deployment, and
deletion (what a deletion keeps: test_removal.py; the lab users' keys: test_credentials.py). The
moto_server fixture points AWS_ENDPOINT_URL at the emulator, so the commands translate the
template here and run the custom-resource handlers themselves."""
import json

from deploy_helpers import (  # noqa: F401  (fixtures: demo, emulator)
    ARTIFACTS,
    client,
    demo,
    deploy,
    emulator,
    group_names,
    ncap,
    secret_names,
    set_affiliates,
    top_folders,
    translated_count,
    user_names,
)

BUCKET = "ncap-local-demo"
LOGS = "ncap-local-demo-access-logs"
KEYS = "ncap/ncap-local-demo/keys/"


def members(group: str) -> list[str]:
    return sorted(u["UserName"] for u in client("iam").get_group(GroupName=group)["Users"])


def test_create_then_update_adding_and_removing_a_lab_then_delete(capsys, demo):
    code, out, err = deploy(capsys, demo)
    assert code == 0, err
    assert "creating a change set (CREATE) for stack ncap-local-demo" in out
    assert f"{translated_count(out)} to add" in out and "+ Add     MembersLabA" in out
    assert "CREATE_COMPLETE" in out and "deploy of ncap-local-demo: CREATE_COMPLETE" in out
    assert "AffiliateFolders Create" in out and "MembersLabB Create" in out and "PipelineUsers Create" in out
    assert user_names() == ["alice", "bob"] and group_names() == ["ncap-local-demo-lab-a", "ncap-local-demo-lab-b"]
    assert secret_names() == [KEYS + "alice", KEYS + "bob"]
    assert top_folders(BUCKET) == ["lab-a", "lab-b"]
    assert client("s3").get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"  # moto's CloudFormation ignores it
    assert client("s3").get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"] == {
        "TargetBucket": LOGS, "TargetPrefix": "ncap-local-demo/"}  # and this
    alice_key = client("iam").list_access_keys(UserName="alice")["AccessKeyMetadata"][0]["AccessKeyId"]

    set_affiliates(demo, [{"AffiliateName": "lab-a", "UserNames": ["alice", "dev"], "ContactEmail": "lab-a@example.org"},
                          {"AffiliateName": "lab-c", "UserNames": ["carol", "dev"]}])
    code, out, err = deploy(capsys, demo)
    assert code == 0, err
    assert "(UPDATE of stack ncap-local-demo): 2 to add, 3 to modify, 2 to remove" in out, out
    assert "- Remove  MembersLabB" in out and "+ Add     MembersLabC" in out
    assert "JobRole" not in out, "one job role serves every lab: a lab's change leaves it alone"
    assert "! MembersLabB will be REMOVED: a lab's members" in out
    assert "MembersLabC Create" in out and "AffiliateFolders Update" in out and "MembersLabB Delete" in out
    assert user_names() == ["alice", "carol", "dev"]  # bob, in no lab now, is deleted; dev is made once
    assert group_names() == ["ncap-local-demo-lab-a", "ncap-local-demo-lab-c"]
    assert secret_names() == [KEYS + "alice", KEYS + "carol", KEYS + "dev"]
    assert top_folders(BUCKET) == ["lab-a", "lab-c"]
    assert members("ncap-local-demo-lab-a") == ["alice", "dev"] and members("ncap-local-demo-lab-c") == ["carol", "dev"]
    assert [k["AccessKeyId"] for k in client("iam").list_access_keys(UserName="alice")["AccessKeyMetadata"]] == \
        [alice_key], "an update never rotates a key"

    client("s3").put_object(Bucket=LOGS, Key="ncap-local-demo/2026-01-01-00-00-00-0A1B2C3D", Body=b"a log record")
    code, out, err = ncap(capsys, "delete", demo, "--yes")
    assert code == 0, err
    assert "deleted: bucket ncap-local-demo and ALL lab data in it" in out
    assert "deleted: bucket ncap-local-demo-access-logs and the pipeline bucket's access logs in it" in out
    assert "delete of ncap-local-demo: DELETE_COMPLETE" in out
    assert user_names() == [] and group_names() == [] and secret_names() == []
    assert [b["Name"] for b in client("s3").list_buckets()["Buckets"]] == [ARTIFACTS]


def test_a_nested_pipeline_deploys_gains_and_loses_a_lab_and_is_deleted(capsys, demo):
    """STAGE websubstack: each lab in a nested stack; the diff of adding a lab names only it."""
    nested = json.loads((demo / "stack_config.json").read_text())
    nested["STAGE"] = "websubstack"
    (demo / "stack_config.json").write_text(json.dumps(nested))
    code, out, err = deploy(capsys, demo)
    assert code == 0, err
    assert "nested templates: uploaded 2" in out and "MembersLabA Create" in out
    assert group_names() == ["ncap-local-demo-lab-a", "ncap-local-demo-lab-b"] and user_names() == ["alice", "bob"]
    stacks = [s["StackName"] for s in client("cloudformation").describe_stacks()["Stacks"]]
    assert len(stacks) == 3

    affiliates = nested["UXData"]["Affiliates"] + [{"AffiliateName": "lab-c", "UserNames": ["carol", "bob"]}]
    set_affiliates(demo, affiliates)
    code, out, err = ncap(capsys, "diff", demo, "--s3-bucket", ARTIFACTS)
    assert code == 0, err
    changes = [line.split()[2] for line in out.splitlines() if line.startswith(("  + ", "  ~ ", "  - ", "  ! "))]
    assert changes == ["LabLabC", "AffiliateFolders", "PipelineUsers"] or changes == ["LabLabC", "AffiliateFolders"]
    code, out, err = deploy(capsys, demo)
    assert code == 0, err
    assert members("ncap-local-demo-lab-c") == ["bob", "carol"] and members("ncap-local-demo-lab-b") == ["bob"]

    set_affiliates(demo, [a for a in affiliates if a["AffiliateName"] != "lab-a"])
    code, out, err = deploy(capsys, demo)
    assert code == 0, err
    assert "! LabLabA will be REMOVED: a lab's nested stack" in out
    assert group_names() == ["ncap-local-demo-lab-b", "ncap-local-demo-lab-c"] and user_names() == ["bob", "carol"]

    code, out, err = ncap(capsys, "delete", demo, "--yes")
    assert code == 0, err
    assert user_names() == [] and group_names() == [] and secret_names() == []
    assert [s["StackStatus"] for s in client("cloudformation").describe_stacks()["Stacks"]] == []


def test_redeploying_the_same_template_changes_nothing(capsys, demo):
    assert deploy(capsys, demo)[0] == 0
    code, out, err = deploy(capsys, demo)
    assert code == 0, err
    assert "no changes: stack ncap-local-demo already runs this template" in out
    assert "executing" not in out


def test_diff_shows_the_changes_and_deploys_nothing(capsys, demo):
    code, out, err = ncap(capsys, "diff", demo, "--s3-bucket", ARTIFACTS)
    assert code == 0, err
    assert f"(CREATE of stack ncap-local-demo): {translated_count(out)} to add" in out and "nothing was deployed" in out
    assert client("cloudformation").list_stacks()["StackSummaries"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert user_names() == []


def test_a_failing_deployment_names_the_cause_and_the_stack_left_behind(capsys, demo):
    client("s3").create_bucket(Bucket=BUCKET)  # moto then refuses to make the stack's bucket
    code, out, err = deploy(capsys, demo, "--skip-account-check")
    assert code == 1
    assert "account check skipped" in out
    assert err.strip().splitlines() == [
        "executing the change set: BucketAlreadyExists: The requested bucket name is not available. The bucket "
        "namespace is shared by all users of the system. Please select a different name and try again; the "
        "emulator does not roll back: stack ncap-local-demo is left REVIEW_IN_PROGRESS; `ncap delete` removes it"]
    code, out, err = ncap(capsys, "delete", demo, "--yes")
    assert code == 0, err
    assert "DELETE_COMPLETE" in out


def test_a_template_over_the_body_limit_goes_by_url(capsys, tmp_path, emulator, monkeypatch):
    from factories import many_labs_config

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "stack_config.json").write_text(json.dumps(many_labs_config(60, 1)))
    code, out, err = deploy(capsys, folder)
    assert code == 0, err
    assert f"bytes (over 51200): uploaded to s3://{ARTIFACTS}/many-labs/" in out
    assert "deploy of many-labs: CREATE_COMPLETE" in out
    assert len(user_names()) == 60


def test_answering_no_deletes_the_change_set_and_deploys_nothing(capsys, demo, monkeypatch):
    from ncap_iac.deploy import prompt

    monkeypatch.setattr(prompt, "can_ask", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: "n")
    code, out, err = ncap(capsys, "deploy", demo, "--method", "changeset", "--s3-bucket", ARTIFACTS)
    assert code == 1 and f"{translated_count(out)} to add" in out
    assert err.startswith("cancelled: change set ncap-") and err.endswith(" deleted, nothing was deployed\n")
    assert [s["StackStatus"] for s in client("cloudformation").list_stacks()["StackSummaries"]] == ["DELETE_COMPLETE"]
    assert user_names() == []
