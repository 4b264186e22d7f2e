"""Property-based: whatever a lab uploads as submit.json, submit_start.handler never raises and
never queues a job for an invalid submission; a valid one queues exactly one message per dataset.

Referenced keys come from a small pool whose validity is known, so "valid" is defined here,
independently of the handler, in a few lines (`expected_datasets`)."""
import itertools
import json
import os
import urllib.parse

import boto3
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import submit_start
from fuzz import examples

BUCKET = "lab-pipeline"
LAB = "labA"
EXISTING = ["labA/inputs/a.csv", "labA/inputs/sub/b.csv", "labA/inputs/c d é.csv",
            "labA/inputs/sub/a.csv", "labA/configs/c.yaml", "labB/inputs/a.csv",
            "labB/configs/c.yaml"]
# every string a dataname may be for the submission to be valid -> the key it names
VALID_DATA = {"labA/inputs/a.csv": "labA/inputs/a.csv",
              f"s3://{BUCKET}/labA/inputs/a.csv": "labA/inputs/a.csv",
              "labA/inputs/sub/b.csv": "labA/inputs/sub/b.csv",
              "labA/inputs/c d é.csv": "labA/inputs/c d é.csv",
              "labA/inputs/sub/a.csv": "labA/inputs/sub/a.csv"}
VALID_CONFIGS = {"labA/configs/c.yaml", f"s3://{BUCKET}/labA/configs/c.yaml"}
INVALID_KEYS = ["labA/inputs/missing.csv", "labA/configs/missing.yaml", "labB/inputs/a.csv",
                "labB/configs/c.yaml", "labA/inputs/../inputs/a.csv", "/labA/inputs/a.csv",
                "s3://other-bucket/labA/inputs/a.csv", "labA//inputs/a.csv", "labA\\inputs\\a.csv",
                "labA/inputs/a.csv\n", "labA/inputs/", "labA/inputs", "", "labA/configs/../inputs/a.csv"]
POOL = sorted(VALID_DATA) + sorted(VALID_CONFIGS) + INVALID_KEYS
ENV = {"BUCKET_NAME": BUCKET, "QUEUE_FIFO": "false", "TRIGGER_MODE": "submit",
       "FILESET_SUFFIXES": "", "INPUTS_FOLDER": "inputs", "CONFIGS_FOLDER": "configs",
       "SUBMISSIONS_FOLDER": "submissions", "RESULTS_FOLDER": "results", "LOGS_FOLDER": "logs",
       "MAX_SUBMIT_BYTES": "262144", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_SESSION_TOKEN": "testing"}
UNSET = ("DEFAULT_CONFIG_NAME", "MISSING_CONFIG_ERROR", "AWS_PROFILE", "AWS_ENDPOINT_URL",
         "AWS_REGION")
COUNTER = itertools.count()


class Sandbox:
    """One moto AWS for the whole module (a fresh one per example would be too slow)."""

    def __init__(self):
        self.s3, self.sqs, self.sns = (boto3.client(name, region_name="us-east-1")
                                       for name in ("s3", "sqs", "sns"))
        self.s3.create_bucket(Bucket=BUCKET)
        for lab in ("labA", "labB"):  # the folders function's markers: what makes them labs of the pipeline
            for folder in ("inputs", "configs", "submissions"):
                self.s3.put_object(Bucket=BUCKET, Key=f"{lab}/{folder}/", Body=b"")
        for key in EXISTING:
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=b"data")
        self.queue = self.sqs.create_queue(QueueName="jobs")["QueueUrl"]
        self.topic = self.sns.create_topic(Name="notices")["TopicArn"]

    def drain(self):
        """Receive and delete every queued message; their bodies."""
        bodies = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10,
                                             VisibilityTimeout=300).get("Messages", [])
            if not batch:
                return bodies
            self.sqs.delete_message_batch(QueueUrl=self.queue, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
            bodies += [json.loads(m["Body"]) for m in batch]

    def clear_results(self):
        """Forget every job, so that one example's job id never collides with another's."""
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{LAB}/results/").get("Contents", [])
        if listed:
            self.s3.delete_objects(Bucket=BUCKET, Delete={
                "Objects": [{"Key": item["Key"]} for item in listed], "Quiet": True})

    def submit(self, raw, name):
        """Upload `raw` as a new submit file, run the handler on its event, drain the queue."""
        key = f"{LAB}/submissions/{next(COUNTER)}-{name}submit.json"
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=raw)
        event = {"Records": [{"eventSource": "aws:s3", "s3": {
            "bucket": {"name": BUCKET}, "object": {"key": urllib.parse.quote_plus(key, safe="/")}}}]}
        try:
            result = submit_start.handler(event, None)
            return result, self.drain()
        finally:
            self.clear_results()


@pytest.fixture(scope="module")
def sandbox():
    from moto import mock_aws
    saved = {name: os.environ.get(name) for name in list(ENV) + list(UNSET) + ["QUEUE_URL", "TOPIC_ARN"]}
    os.environ.update(ENV)
    for name in UNSET:
        os.environ.pop(name, None)
    with mock_aws():
        made = Sandbox()
        os.environ.update(QUEUE_URL=made.queue, TOPIC_ARN=made.topic)
        yield made
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def expected_datasets(raw):
    """The keys a submission should queue, or None when it is invalid (defined independently)."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or len(raw) > 262144:
        return None
    data, config, stamp = (document.get(name) for name in ("dataname", "configname", "timestamp"))
    names = [data] if isinstance(data, str) else data
    if not isinstance(names, list) or not 1 <= len(names) <= 100:
        return None
    if not all(isinstance(n, str) and n in VALID_DATA for n in names):
        return None
    keys = [VALID_DATA[n] for n in names]
    basenames = {key.rsplit("/", 1)[-1] for key in keys}
    valid = (len(set(keys)) == len(keys) == len(basenames) and isinstance(config, str)
             and config in VALID_CONFIGS and (stamp is None or isinstance(stamp, str)))
    return keys if valid else None


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                         st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10)
key_like = st.one_of(st.sampled_from(POOL), st.sampled_from(POOL), st.text(max_size=30), json_scalars)
valid_datanames = st.one_of(st.sampled_from(sorted(VALID_DATA)), st.lists(
    st.sampled_from(sorted(VALID_DATA)), min_size=1, max_size=3, unique=True))
any_datanames = st.one_of(key_like, st.lists(key_like, max_size=5))
confignames = st.one_of(st.sampled_from(sorted(VALID_CONFIGS)), key_like)
timestamps = st.one_of(st.none(), st.text(max_size=70), st.integers(),
                       st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True))
any_submission = st.fixed_dictionaries({}, optional={
    "dataname": any_datanames, "configname": confignames, "timestamp": timestamps,
    "extra": json_values})


@st.composite
def submissions(draw):
    """A quarter fully random; the rest with a dataname and a configname, often valid ones."""
    if draw(st.integers(0, 3)) == 0:
        return draw(any_submission)
    document = {"dataname": draw(valid_datanames if draw(st.booleans()) else any_datanames),
                "configname": draw(st.sampled_from(sorted(VALID_CONFIGS)) if draw(st.booleans())
                                   else confignames)}
    if draw(st.booleans()):
        document["timestamp"] = draw(timestamps)
    if draw(st.booleans()):
        document["extra"] = draw(json_values)
    return document


file_names = st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/"),
                     max_size=12)
PROPERTY = settings(max_examples=examples(150), suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def check_outcome(sandbox, raw, name):
    expected = expected_datasets(raw)
    event("valid" if expected else "invalid")
    result, bodies = sandbox.submit(raw, name)  # must not raise
    if expected is None:
        assert bodies == [], f"queued {len(bodies)} messages for an invalid submission"
        assert result["jobs"] == [] and len(result["rejected"]) == 1
    else:
        assert sorted(body["dataname"] for body in bodies) == sorted(expected)
        assert result["jobs"] and result["rejected"] == []


@PROPERTY
@given(raw=st.binary(max_size=200), name=file_names)
def test_random_bytes_never_raise_and_never_queue_an_invalid_submission(sandbox, raw, name):
    check_outcome(sandbox, raw, name)


@PROPERTY
@given(document=json_values, name=file_names)
def test_random_json_never_raises_and_never_queues_an_invalid_submission(sandbox, document, name):
    check_outcome(sandbox, json.dumps(document).encode("utf-8"), name)


@settings(PROPERTY, max_examples=examples(250))
@given(document=submissions(), name=file_names, ascii_only=st.booleans())
def test_random_submissions_queue_exactly_their_valid_datasets(sandbox, document, name, ascii_only):
    check_outcome(sandbox, json.dumps(document, ensure_ascii=ascii_only).encode("utf-8"), name)
