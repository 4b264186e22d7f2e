"""While a job runs its log goes up for the lab to follow, and its lab's cancel request stops it:
the whole process tree within seconds, what it wrote so far kept and marked partial, CANCELLED,
the message deleted. A dataset of a job whose cancel was requested never starts. On a moto
server, with the real submit function and the agent's job handling."""
import json
import threading
import time
from pathlib import Path

from ncap_iac.lambda_repo.ncap_lambda.contract import with_cancel

from .helpers import BUCKET, LAB, cloud, context, decisions, handle, log_key, status_key, wait_until  # noqa: F401

# writes a partial output, prints a line a tenth of a second, and starts a child that would outlive it
LONG = ("bash -c 'echo partial > \"$NCAP_OUTPUT_DIR/part.txt\"; (sleep 300 &); "
        "for i in $(seq 1 600); do echo line $i; sleep 0.1; done'")


def request_cancel(cloud, job_id: str) -> None:
    key = status_key(job_id)
    document = json.loads(cloud.get(key))
    cloud.put(key, json.dumps(with_cancel(document, f"{LAB}/submissions/{job_id}-cancel.json")).encode())


def logged(cloud, job_id: str) -> bytes:
    """The job's log so far (b"" before its first upload, or while moto is replacing it: moto does
    not replace an object atomically, and a read that meets it fails its checksum)."""
    from botocore.exceptions import FlexibleChecksumError

    listed = cloud.s3.list_objects_v2(Bucket=BUCKET, Prefix=log_key(job_id))
    try:
        return cloud.get(log_key(job_id)) if listed.get("KeyCount") else b""
    except FlexibleChecksumError:
        return b""


def in_thread(function, *args):
    found = {}
    thread = threading.Thread(target=lambda: found.setdefault("outcome", function(*args)), daemon=True)
    thread.start()
    return thread, found


def test_a_running_job_shows_its_log_and_stops_when_its_lab_cancels_it(cloud, decisions, tmp_path):
    cloud.submit("j1")
    ctx = context(cloud, LONG, tmp_path, log_seconds=0.3, watch_seconds=0.2)
    thread, found = in_thread(handle, ctx, cloud.receive())
    wait_until(lambda: b"line 5" in logged(cloud, "j1"), what="log lines while it runs")

    def running_dataset() -> dict:
        return json.loads(cloud.get(status_key("j1")))["datasets"][f"{LAB}/inputs/j1.csv"]

    # the log is uploaded first, then the status notes when: the two writes are apart
    wait_until(lambda: running_dataset().get("last_logged"), what="the status noting the log")
    dataset = running_dataset()
    assert dataset["status"] == "RUNNING" and dataset["last_logged"] and dataset["log_key"] == log_key("j1")
    asked = time.monotonic()
    request_cancel(cloud, "j1")
    thread.join(30)
    assert found["outcome"] == "cancelled" and time.monotonic() - asked < 15
    status = json.loads(cloud.get(status_key("j1")))
    entry = status["datasets"][f"{LAB}/inputs/j1.csv"]
    assert status["status"] == "CANCELLED" and entry["status"] == "CANCELLED" and entry["partial"] is True
    assert cloud.get(f"{LAB}/results/job_j1/process_results/part.txt") == b"partial\n"
    assert b"cancelled by a member of the lab" in cloud.get(log_key("j1"))
    assert cloud.counts() == (0, 0), "the message is gone: nothing of the job runs again"
    assert not sleepers(), "the command's whole process tree is stopped"


def sleepers() -> list[str]:
    """This machine's processes running `sleep 300` (the command's child)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == b"sleep\x00300\x00":
                found.append(entry.name)
        except OSError:
            continue
    return found


def test_a_dataset_of_a_job_whose_cancel_was_requested_never_starts(cloud, decisions, tmp_path):
    cloud.submit("j1")
    status = json.loads(cloud.get(status_key("j1")))
    status["datasets"][f"{LAB}/inputs/j1.csv"]["status"] = "RUNNING"  # as if a stage had begun elsewhere
    document = with_cancel(status, f"{LAB}/submissions/j1-cancel.json")
    cloud.put(status_key("j1"), json.dumps(document).encode())
    marker = tmp_path / "ran"
    assert handle(context(cloud, f"touch {marker}", tmp_path), cloud.receive()) == "already-final"
    assert not marker.exists()
    assert json.loads(cloud.get(status_key("j1")))["status"] == "CANCELLED"
    assert cloud.counts() == (0, 0)
