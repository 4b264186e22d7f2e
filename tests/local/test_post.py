"""A post-processing function on the local cloud: the router hands a job result ending in the
trigger to the post function (in a process of its own, with its own role, IAM enforced), which
runs the developer's function once per S3 event and records the run in the job's status.json; its
role cannot read the lab's inputs."""
import json
import shutil
import time
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from cloud_helpers import keys_under, local_cloud, pipeline_copy, queue_counts, read_json
from conftest import TESTS

pytestmark = pytest.mark.slow
LAB = "lab-a"


def with_post(document):
    document.setdefault("Lambda", {}).update(PostCodeUri="post", PostHandler="post.handler")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    root = tmp_path_factory.mktemp("post-cloud")
    pipeline = pipeline_copy("local-demo", root / "pipeline", with_post)
    shutil.copytree(TESTS / "fixtures" / "post_function", pipeline / "post")
    with local_cloud(pipeline, root / "state", workers=0) as running:
        yield running


def job(cloud, s3, job_id: str, trigger_body: bytes) -> str:
    """A job's status.json (as the submit function makes it), then its trigger object; the trigger's key."""
    prefix = f"{LAB}/results/job_{job_id}/"
    s3.put_object(Bucket=cloud.bucket, Key=prefix + "logs/status.json",
                  Body=json.dumps({"job_id": job_id, "status": "RUNNING", "datasets": {}}).encode())
    key = prefix + "process_results/end.txt"
    s3.put_object(Bucket=cloud.bucket, Key=key, Body=trigger_body)
    return key


def wait_run(s3, bucket: str, job_id: str, key: str, timeout: float = 60.0) -> dict:
    """The post run recorded for `key` once it ended."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = read_json(s3, bucket, f"{LAB}/results/job_{job_id}/logs/status.json") or {}
        run = (last.get("post") or {}).get(key) or {}
        if run.get("status") in ("SUCCESS", "FAILED"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"no finished post run for {key} within {timeout:.0f} s; last: {last}")


def outputs(cloud, s3, job_id: str) -> list[str]:
    return keys_under(s3, cloud.bucket, f"{LAB}/results/job_{job_id}/post/")


def test_a_trigger_runs_the_post_function_once_per_event(cloud):
    s3, sqs = cloud.client("s3"), cloud.client("sqs")
    key = job(cloud, s3, "post1", b"done")
    run = wait_run(s3, cloud.bucket, "post1", key)
    assert run["status"] == "SUCCESS" and run["error"] is None
    [written] = outputs(cloud, s3, "post1")
    text = s3.get_object(Bucket=cloud.bucket, Key=written)["Body"].read().decode()
    assert text == f"trigger {key}\ninputs AccessDenied\n", "its own output, and no read of the lab's inputs"

    etag = s3.head_object(Bucket=cloud.bucket, Key=key)["ETag"].strip('"')
    body = json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": cloud.bucket}, "object": {"key": quote_plus(key), "eTag": etag}}}]})
    router = sqs.get_queue_url(QueueName=f"{cloud.bucket}-local-s3-events")["QueueUrl"]
    for _ in range(2):  # S3 delivering the same event again, twice
        sqs.send_message(QueueUrl=router, MessageBody=body)
    deadline = time.monotonic() + 30
    while queue_counts(sqs, router) != (0, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert queue_counts(sqs, router) == (0, 0), "both deliveries handled"
    assert len(outputs(cloud, s3, "post1")) == 1, "the developer's function ran once"
    assert wait_run(s3, cloud.bucket, "post1", key) == run
    log = (cloud.state_dir / "PostFunction.log").read_text()
    assert log.count('"decision": "duplicate"') == 2


def test_a_failing_post_function_is_recorded_with_its_error(cloud):
    s3 = cloud.client("s3")
    key = job(cloud, s3, "post2", b"fail")
    run = wait_run(s3, cloud.bucket, "post2", key)
    assert run["status"] == "FAILED" and run["error"] == "ValueError: the analysis said fail"
    assert outputs(cloud, s3, "post2") == []


def test_a_lab_user_cannot_write_the_trigger_into_a_job_folder(cloud):
    """The trigger comes from the worker's upload of a job's results: a lab member may not write there."""
    s3 = cloud.client("s3", "alice")
    with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
        s3.put_object(Bucket=cloud.bucket, Key=f"{LAB}/results/job_x/process_results/end.txt", Body=b"x")


def test_the_post_functions_process_is_recorded_for_down(cloud):
    """`ncap local down` stops what pids.json names: the post function's own process is there."""
    pids = json.loads((cloud.state_dir / "pids.json").read_text())
    [pid] = pids["functions"]
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"ncap_iac.emulator.function_host" in argv
