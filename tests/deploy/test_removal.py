"""`ncap delete` of a pipeline that keeps its bucket (DataRetention.RetainBucketOnDelete, true by
default): it says what is kept and what goes, asks, and on "yes" deletes the stack but leaves the
bucket with every lab's data; on "no" it deletes nothing. (A pipeline whose bucket goes with it:
test_changeset.py.) On a moto server, in this process (and once as a process on a terminal)."""
import os
import subprocess
import sys

import pytest

from conftest import REPO
from deploy_helpers import (  # noqa: F401  (fixture: emulator)
    ARTIFACTS,
    client,
    deploy,
    emulator,
    group_names,
    ncap,
    pipeline_copy,
    secret_names,
    user_names,
)

BUCKET = "ncap-local-demo"
LOGS = "ncap-local-demo-access-logs"
LAB_FILE = "lab-a/inputs/trial_01.csv"


def keeps_its_bucket(document):
    document["DataRetention"].pop("RetainBucketOnDelete")  # the default: true


@pytest.fixture
def deployed(capsys, tmp_path, emulator, monkeypatch):
    """local-demo with the default retention, deployed with `ncap deploy --method changeset`, and
    a lab's file uploaded."""
    monkeypatch.chdir(tmp_path)
    folder = pipeline_copy(tmp_path, "local-demo", edit=keeps_its_bucket)
    code, out, err = deploy(capsys, folder)
    assert code == 0, err
    client("s3").put_object(Bucket=BUCKET, Key=LAB_FILE, Body=b"speed_cm_s\n1.5\n")
    return folder


def stack_statuses() -> list[str]:
    return [s["StackStatus"] for s in client("cloudformation").list_stacks()["StackSummaries"]]


def test_delete_keeps_the_bucket_and_every_labs_data(capsys, deployed):
    code, out, err = ncap(capsys, "delete", deployed, "--yes")
    assert code == 0, err
    assert ("kept: bucket ncap-local-demo with every lab's data (DeletionPolicy Retain; "
            "DataRetention.RetainBucketOnDelete is true). Delete it yourself once nobody needs the data") in out
    assert "deleted: IAM users alice, bob, their access keys and the secrets holding them: the labs lose access" in out
    assert "kept: bucket ncap-local-demo-access-logs with the pipeline bucket's access logs (kept with the lab data)" \
        in out
    assert "ALL lab data" not in out
    assert "delete of ncap-local-demo: DELETE_COMPLETE" in out
    assert stack_statuses() == ["DELETE_COMPLETE"]
    assert user_names() == [] and group_names() == [] and secret_names() == []
    assert sorted(b["Name"] for b in client("s3").list_buckets()["Buckets"]) == sorted([ARTIFACTS, BUCKET, LOGS])
    assert client("s3").get_bucket_policy(Bucket=LOGS)["Policy"]  # kept with its bucket: the logging goes on
    assert client("s3").get_object(Bucket=BUCKET, Key=LAB_FILE)["Body"].read() == b"speed_cm_s\n1.5\n"


def test_answering_no_deletes_nothing(capsys, deployed, monkeypatch):
    from ncap_iac.deploy import prompt

    asked = []
    monkeypatch.setattr(prompt, "can_ask", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or "n")
    code, out, err = ncap(capsys, "delete", deployed)
    assert code == 1
    assert err == "cancelled: nothing was deleted\n"
    assert asked == ["Delete stack ncap-local-demo (CREATE_COMPLETE) in us-east-1 at "
                     f"{client('s3').meta.endpoint_url}? [y/N] "]
    assert "kept: bucket ncap-local-demo with every lab's data" in out  # said before asking
    assert stack_statuses() == ["CREATE_COMPLETE"]
    assert user_names() == ["alice", "bob"] and len(group_names()) == 2 and len(secret_names()) == 2
    assert client("s3").get_object(Bucket=BUCKET, Key=LAB_FILE)["Body"].read() == b"speed_cm_s\n1.5\n"


def test_there_being_no_stack_is_said_and_nothing_asked(capsys, tmp_path, emulator, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = pipeline_copy(tmp_path, "local-demo")
    code, out, err = ncap(capsys, "delete", folder, "--yes")
    assert code == 0, err
    assert "there is no stack ncap-local-demo in us-east-1 at " in out and out.rstrip().endswith("nothing to delete")


def test_answering_no_on_a_terminal_deletes_nothing(deployed):
    """The real prompt: `ncap delete` as a process whose stdin is a pseudo-terminal, answered "n"."""
    controller, terminal = os.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "ncap_iac.cli", "delete", str(deployed)], cwd=REPO,
                                   stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(controller, b"n\n")
        out, err = process.communicate(timeout=120)
    finally:
        os.close(terminal)
        os.close(controller)
    assert process.returncode == 1, err
    assert err == "cancelled: nothing was deleted\n"
    assert "kept: bucket ncap-local-demo with every lab's data" in out and "Delete stack ncap-local-demo" in out
    assert stack_statuses() == ["CREATE_COMPLETE"] and user_names() == ["alice", "bob"]
