"""The post-processing wrapper (lambda_repo/ncap_post.py) on an in-process moto S3: it runs the
developer's function once per S3 event, records each run in the job's status.json, records a
failing function instead of raising, and ignores keys outside a configured lab's job folders."""
import json
import time
import uuid

import boto3
import pytest

import ncap_post
from ncap_lambda.contract import POST_FIELD, post_run, with_post_run

BUCKET = "pipe"
KEY = "lab-a/results/job_1/process_results/end.txt"
STATUS = "lab-a/results/job_1/logs/status.json"

DEVELOPER_CODE = '''
import boto3
RUNS = []

def handler(event, context):
    RUNS.append(event)
    [record] = event["Records"]
    key = record["s3"]["object"]["key"]
    if key.endswith("fail/end.txt"):
        raise ValueError("the analysis said fail")
    boto3.client("s3").put_object(Bucket=record["s3"]["bucket"]["name"], Key=key + ".post", Body=b"done")
'''


@pytest.fixture
def s3(aws):
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    for key in ("lab-a/results/", "lab-a/inputs/"):
        client.put_object(Bucket=BUCKET, Key=key, Body=b"")
    client.put_object(Bucket=BUCKET, Key=STATUS, Body=json.dumps({"status": "RUNNING", "datasets": {}}).encode())
    return client


@pytest.fixture
def developer(tmp_path, monkeypatch):
    """The developer's function, as a module of its own on the import path; its RUNS list."""
    module = f"dev_post_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(DEVELOPER_CODE)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name, value in {"BUCKET_NAME": BUCKET, "RESULTS_FOLDER": "results", "POST_HANDLER": f"{module}.handler",
                        "POST_TRIGGER": "end.txt"}.items():
        monkeypatch.setenv(name, value)
    import importlib

    return importlib.import_module(module).RUNS


def event(key=KEY, etag="etag-1", bucket=BUCKET):
    return {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": bucket},
                                                         "object": {"key": key, "eTag": etag}}}]}


def status(s3, key=STATUS) -> dict:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_one_event_delivered_twice_runs_the_function_once(s3, developer, context, decisions):
    first = ncap_post.handler(event(), context)
    second = ncap_post.handler(event(), context)
    assert first == {"ran": [KEY], "failed": [], "duplicates": [], "ignored": []}
    assert second == {"ran": [], "failed": [], "duplicates": [KEY], "ignored": []}
    assert len(developer) == 1 and developer[0] == event()
    assert s3.get_object(Bucket=BUCKET, Key=KEY + ".post")["Body"].read() == b"done"
    run = status(s3)[POST_FIELD][KEY]
    assert run["status"] == "SUCCESS" and run["event"] == "etag-1" and run["error"] is None
    assert run["started"] <= run["finished"]
    assert status(s3)["status"] == "RUNNING", "the job's own fields are kept"
    assert {"decision": "duplicate", "key": KEY, "event": "etag-1"} in decisions()


def test_a_new_object_under_the_same_key_runs_again(s3, developer, context):
    ncap_post.handler(event(etag="etag-1"), context)
    ncap_post.handler(event(etag="etag-2"), context)
    assert len(developer) == 2 and status(s3)[POST_FIELD][KEY]["event"] == "etag-2"


def test_a_failing_function_is_recorded_not_raised_and_not_run_again(s3, developer, context):
    key = "lab-a/results/job_1/fail/end.txt"
    assert ncap_post.handler(event(key), context)["failed"] == [key]
    assert ncap_post.handler(event(key), context)["duplicates"] == [key]
    run = status(s3)[POST_FIELD][key]
    assert run["status"] == "FAILED" and run["error"] == "ValueError: the analysis said fail"
    assert "Traceback" not in json.dumps(status(s3)) and len(developer) == 1


def test_a_run_that_died_is_claimed_again(s3, developer, context):
    document = with_post_run(status(s3), KEY, {"status": "RUNNING", "event": "etag-1",
                                                "deadline": int(time.time()) - 1})
    s3.put_object(Bucket=BUCKET, Key=STATUS, Body=json.dumps(document).encode())
    assert ncap_post.handler(event(), context)["ran"] == [KEY]
    assert status(s3)[POST_FIELD][KEY]["status"] == "SUCCESS"


@pytest.mark.parametrize("key, bucket", [
    pytest.param("lab-a/results/end.txt", BUCKET, id="not-in-a-job-folder"),
    pytest.param("lab-a/inputs/job_1/end.txt", BUCKET, id="inputs"),
    pytest.param("lab-z/results/job_1/end.txt", BUCKET, id="not-a-configured-lab"),
    pytest.param("lab-a/results/job_2/end.txt", BUCKET, id="no-status-json"),
    pytest.param(KEY, "another-bucket", id="another-bucket"),
    pytest.param("lab-a/results/job_1/end.txt.bak", BUCKET, id="not-the-trigger"),
])
def test_stray_keys_are_ignored_with_one_log_line(s3, developer, context, decisions, key, bucket):
    assert ncap_post.handler(event(key, bucket=bucket), context)["ignored"] == [key]
    assert developer == []
    assert [d["decision"] for d in decisions() if d.get("key") == key] == ["ignored"]


def test_an_event_without_records_does_nothing(s3, developer, context):
    assert ncap_post.handler({"Records": []}, context) == {"ran": [], "failed": [], "duplicates": [], "ignored": []}


def test_the_post_record_merges_without_touching_other_fields():
    document = {"status": "SUCCESS", "datasets": {"a": {"status": "SUCCESS"}}, POST_FIELD: {"k1": {"status": "FAILED"}}}
    new = with_post_run(document, "k2", {"status": "RUNNING"}, updated="2026-01-01T00:00:00Z")
    assert new == {**document, POST_FIELD: {"k1": {"status": "FAILED"}, "k2": {"status": "RUNNING"}},
                   "updated": "2026-01-01T00:00:00Z"}
    assert post_run(with_post_run(new, "k2", {"status": "SUCCESS"}), "k2") == {"status": "SUCCESS"}
    assert post_run({POST_FIELD: "not an object"}, "k") == {} and document[POST_FIELD] == {"k1": {"status": "FAILED"}}
