"""submit_start.handler against an in-process moto AWS: S3 bucket, standard and FIFO queues, SNS."""
import json
import re
import urllib.parse
from hashlib import sha256

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from ncap_lambda.aws_errors import RetryLater, is_retryable

import submit_start

BUCKET = "lab-pipeline"
LAB = "labA"
DATA = "labA/inputs/x.csv"
CONFIG = "labA/configs/c.yaml"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


TEST_CLIENTS = {}


def shared_client(service):
    """Clients made once (making one takes tens of ms); moto intercepts them in every test."""
    if service not in TEST_CLIENTS:
        TEST_CLIENTS[service] = boto3.client(service, region_name="us-east-1")
    return TEST_CLIENTS[service]


class Cloud:
    """The moto resources of one test, and shortcuts to use and inspect them."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.s3, self.sqs, self.sns = (shared_client(name) for name in ("s3", "sqs", "sns"))
        self.s3.create_bucket(Bucket=BUCKET)
        for lab in ("labA", "labB"):  # the folders function's markers: what makes them labs of the pipeline
            for folder in ("inputs", "configs", "submissions"):
                self.s3.put_object(Bucket=BUCKET, Key=f"{lab}/{folder}/", Body=b"")
        self.queue = self.sqs.create_queue(QueueName="jobs")["QueueUrl"]
        self.fifo = self.sqs.create_queue(QueueName="jobs.fifo", Attributes={
            "FifoQueue": "true"})["QueueUrl"]
        self.topic = self.sns.create_topic(Name="lab-notices")["TopicArn"]
        self.notice_queue = self.sqs.create_queue(QueueName="notices")["QueueUrl"]
        notice_arn = self.sqs.get_queue_attributes(QueueUrl=self.notice_queue, AttributeNames=[
            "QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=notice_arn)

    def env(self, **values):
        for name, value in values.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)

    def put(self, key, body=b"1,2,3\n"):
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    def submit(self, content, name="run1_submit.json", lab=LAB):
        key = f"{lab}/submissions/{name}"
        self.put(key, content if isinstance(content, bytes) else json.dumps(content).encode())
        return submit_start.handler(s3_event(key), None)

    def messages(self, queue=None, **options):
        """Every message on the queue, received and deleted."""
        found = []
        while True:
            reply = self.sqs.receive_message(QueueUrl=queue or self.queue, MaxNumberOfMessages=10,
                                             VisibilityTimeout=300, **options)
            batch = reply.get("Messages", [])
            if not batch:
                return found
            for message in batch:
                self.sqs.delete_message(QueueUrl=queue or self.queue,
                                        ReceiptHandle=message["ReceiptHandle"])
            found += batch

    def bodies(self, queue=None):
        return [json.loads(message["Body"]) for message in self.messages(queue)]

    def notices(self):
        return [json.loads(message["Body"]) for message in self.messages(self.notice_queue)]

    def read(self, key):
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def status(self, job_id, lab=LAB):
        return json.loads(self.read(f"{lab}/results/job_{job_id}/logs/status.json"))

    def certificate(self, job_id, lab=LAB):
        return self.read(f"{lab}/results/job_{job_id}/logs/certificate.txt").decode("utf-8")

    def keys(self, prefix=""):
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return sorted(item["Key"] for item in listed)


def s3_event(key, bucket=BUCKET):
    """An S3 ObjectCreated event as S3 sends it: the key URL-encoded, a space as +."""
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": 10}}}]}


@pytest.fixture
def cloud(aws, monkeypatch):
    made = Cloud(monkeypatch)
    made.env(BUCKET_NAME=BUCKET, QUEUE_URL=made.queue, QUEUE_FIFO="false", TOPIC_ARN=made.topic,
             TRIGGER_MODE="submit", FILESET_SUFFIXES="", INPUTS_FOLDER="inputs",
             CONFIGS_FOLDER="configs", SUBMISSIONS_FOLDER="submissions", RESULTS_FOLDER="results",
             LOGS_FOLDER="logs", MAX_SUBMIT_BYTES="262144", DEFAULT_CONFIG_NAME=None,
             MISSING_CONFIG_ERROR=None)
    made.put(DATA)
    made.put(CONFIG, b"threshold: 3\n")
    return made


def outcome(jobs=(), rejected=(), duplicates=(), ignored=(), waiting=()):
    return {"jobs": list(jobs), "rejected": list(rejected), "duplicates": list(duplicates),
            "ignored": list(ignored), "waiting": list(waiting)}


def etag(cloud, key):
    return cloud.s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')


# --- valid submissions ---------------------------------------------------------------------

def test_valid_submission_writes_status_certificate_and_one_exact_message(cloud):
    result = cloud.submit({"dataname": DATA, "configname": CONFIG, "timestamp": "2024-05-01T10-00",
                           "comment": "unknown fields are ignored"})

    job = "2024-05-01T10-00"
    assert result == outcome(jobs=[job])
    status_key = f"labA/results/job_{job}/logs/status.json"
    status = cloud.status(job)
    assert ISO_UTC.match(status.pop("updated"))
    assert status == {
        "status": "QUEUED", "reason": None, "submit_key": "labA/submissions/run1_submit.json",
        "job_id": job, "affiliate": LAB, "configname": CONFIG,
        "datasets": {DATA: {"status": "QUEUED", "resultpath": f"labA/results/job_{job}/process_results/"}},
        "submit_etag": etag(cloud, "labA/submissions/run1_submit.json"), "queued": True}
    (message,) = cloud.messages()
    assert message["Body"] == json.dumps({
        "version": 1, "bucket": BUCKET, "affiliate": LAB, "job_id": job,
        "submit_key": "labA/submissions/run1_submit.json", "dataname": DATA, "datanames": [DATA],
        "configname": CONFIG, "resultpath": f"labA/results/job_{job}/process_results/",
        "status_key": status_key}, sort_keys=True)
    certificate = cloud.certificate(job)
    for line in [f"job id:      {job}", "status:      QUEUED", "reason:      -",
                 f"submit file: s3://{BUCKET}/labA/submissions/run1_submit.json",
                 f"config:      {CONFIG}", f"  {DATA} -> labA/results/job_{job}/process_results/"]:
        assert line in certificate.splitlines()


def test_status_json_is_sorted_and_readable(cloud):
    cloud.submit({"dataname": DATA, "configname": CONFIG})

    raw = cloud.read("labA/results/job_run1/logs/status.json").decode()
    assert raw == json.dumps(json.loads(raw), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_a_list_of_datanames_fans_out_one_message_per_dataset(cloud):
    datasets = ["labA/inputs/a.csv", "labA/inputs/day2/b.csv", "labA/inputs/c.csv"]
    for key in datasets:
        cloud.put(key)

    result = cloud.submit({"dataname": datasets, "configname": CONFIG, "timestamp": "fan"})

    assert result == outcome(jobs=["fan"])
    bodies = sorted(cloud.bodies(), key=lambda body: body["dataname"])
    assert [(b["dataname"], b["datanames"], b["resultpath"]) for b in bodies] == [
        ("labA/inputs/a.csv", ["labA/inputs/a.csv"], "labA/results/job_fan/process_results/a.csv/"),
        ("labA/inputs/c.csv", ["labA/inputs/c.csv"], "labA/results/job_fan/process_results/c.csv/"),
        ("labA/inputs/day2/b.csv", ["labA/inputs/day2/b.csv"],
         "labA/results/job_fan/process_results/b.csv/")]
    assert {b["job_id"] for b in bodies} == {"fan"}
    assert cloud.status("fan")["datasets"] == {key: {
        "status": "QUEUED", "resultpath": f"labA/results/job_fan/process_results/{key.rsplit('/', 1)[-1]}/"}
        for key in datasets}


@pytest.mark.parametrize("submitted, dataname, configname", [
    pytest.param({"dataname": f"s3://{BUCKET}/{DATA}", "configname": f"s3://{BUCKET}/{CONFIG}"},
                 DATA, CONFIG, id="same_bucket_s3_urls_accepted"),
    pytest.param({"dataname": [DATA], "configname": CONFIG}, DATA, CONFIG, id="list_of_one"),
    pytest.param({"dataname": "labA/inputs/mouse 1 é.csv", "configname": CONFIG},
                 "labA/inputs/mouse 1 é.csv", CONFIG, id="spaces_and_unicode_in_the_dataset"),
    pytest.param({"dataname": DATA, "configname": None}, DATA, "labA/configs/default.yaml",
                 id="null_configname_uses_the_default"),
    pytest.param({"dataname": DATA}, DATA, "labA/configs/default.yaml",
                 id="default_config_used_when_configname_absent"),
])
def test_accepted_forms(cloud, submitted, dataname, configname):
    cloud.env(DEFAULT_CONFIG_NAME="default.yaml")
    cloud.put("labA/configs/default.yaml")
    cloud.put("labA/inputs/mouse 1 é.csv")

    assert cloud.submit(submitted) == outcome(jobs=["run1"])

    (body,) = cloud.bodies()
    assert (body["dataname"], body["configname"]) == (dataname, configname)


# --- rejections ----------------------------------------------------------------------------

def submit_of(**fields):
    return json.dumps({"dataname": DATA, "configname": CONFIG, **fields}).encode()


REJECTIONS = [
    ("too_big", submit_of().ljust(262145), {},
     "the submit file is 262145 bytes; the limit is 256 KiB"),
    ("not_utf8", b'{"dataname": "labA/inputs/\xff.csv"}', {}, "not UTF-8 text (byte 27"),
    ("not_json", b'{"dataname": "labA/inputs/x.csv",', {},
     "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 34"),
    ("too_deeply_nested", b"[" * 100000 + b"]" * 100000, {}, "not usable JSON"),
    ("not_an_object", b'["labA/inputs/x.csv"]', {}, "must hold a JSON object"),
    ("missing_dataname", json.dumps({"configname": CONFIG}).encode(), {}, 'no "dataname"'),
    ("dataname_a_number", submit_of(dataname=5), {},
     "dataname must be a string or a list of strings, got number 5"),
    ("dataname_list_holding_a_number", submit_of(dataname=[DATA, 3]), {},
     "dataname[1] must be a non-empty string, got number 3"),
    ("dataname_empty_string", submit_of(dataname=""), {}, 'dataname must be a non-empty string, got string ""'),
    ("configname_a_list", submit_of(configname=[CONFIG]), {},
     "configname must be a non-empty string, got array"),
    ("timestamp_a_number", submit_of(timestamp=20240501), {},
     "timestamp must be a string, got number 20240501"),
    ("empty_list", submit_of(dataname=[]), {}, "dataname lists 0 files; give between 1 and 100"),
    ("over_100_datasets", submit_of(dataname=[f"labA/inputs/{i}.csv" for i in range(101)]), {},
     "dataname lists 101 files"),
    ("dot_dot", submit_of(dataname="labA/inputs/../inputs/x.csv"), {}, '".." or "." segment'),
    ("dot_dot_escaping_the_lab", submit_of(dataname="labA/../labB/inputs/x.csv"), {},
     '".." or "." segment'),
    ("absolute_path", submit_of(dataname="/labA/inputs/x.csv"), {}, "is an absolute path"),
    ("backslash", submit_of(dataname="labA\\inputs\\x.csv"), {}, "contains a backslash"),
    ("control_character", submit_of(dataname="labA/inputs/x\n.csv"), {},
     "contains the control character U+000A"),
    ("empty_segment", submit_of(dataname="labA/inputs//x.csv"), {}, "empty path segment"),
    ("another_affiliate", submit_of(dataname="labB/inputs/x.csv"), {},
     'dataname "labB/inputs/x.csv" belongs to "labB", not to lab labA'),
    ("another_buckets_s3_url", submit_of(dataname="s3://other-bucket/labA/inputs/x.csv"), {},
     'points to bucket "other-bucket"; use a key in this pipeline\'s bucket lab-pipeline'),
    ("dataset_outside_inputs", submit_of(dataname=CONFIG), {},
     f'dataname "{CONFIG}" is outside labA/inputs/'),
    ("dataset_is_the_inputs_folder", submit_of(dataname="labA/inputs"), {}, "is outside labA/inputs/"),
    ("config_outside_configs", submit_of(configname=DATA), {},
     f'configname "{DATA}" is outside labA/configs/'),
    ("missing_dataset", submit_of(dataname="labA/inputs/nope.csv"), {},
     "not found: labA/inputs/nope.csv (the dataname); upload it before the submit file"),
    ("missing_dataset_in_a_list", submit_of(dataname=[DATA, "labA/inputs/nope.csv"]), {},
     "not found: labA/inputs/nope.csv (the dataname[1])"),
    ("missing_config", submit_of(configname="labA/configs/nope.yaml"), {},
     "not found: labA/configs/nope.yaml (the configname)"),
    ("missing_config_with_missing_config_error", submit_of(configname="labA/configs/nope.yaml"),
     {"MISSING_CONFIG_ERROR": "Upload config.yaml to your configs folder first."},
     "Upload config.yaml to your configs folder first. (not found: labA/configs/nope.yaml)"),
    ("missing_configname_without_default", json.dumps({"dataname": DATA}).encode(), {},
     'no "configname"'),
    ("missing_default_config", json.dumps({"dataname": DATA}).encode(),
     {"DEFAULT_CONFIG_NAME": "absent.yaml", "MISSING_CONFIG_ERROR": "No default config."},
     "No default config. (not found: labA/configs/absent.yaml)"),
    ("same_key_twice", submit_of(dataname=[DATA, f"s3://{BUCKET}/{DATA}"]), {},
     'dataname[0] and dataname[1] both name "labA/inputs/x.csv"'),
    ("duplicate_basenames", submit_of(dataname=["labA/inputs/a/x.csv", "labA/inputs/b/x.csv"]), {},
     'dataname[0] and dataname[1] have the same file name "x.csv"'),
]


@pytest.mark.parametrize("content, env, reason", [
    pytest.param(content, env, reason, id=name) for name, content, env, reason in REJECTIONS])
def test_rejected_submission_gets_a_reason_and_queues_nothing(cloud, content, env, reason):
    cloud.env(**env)
    for key in ("labB/inputs/x.csv", "labA/inputs/a/x.csv", "labA/inputs/b/x.csv"):
        cloud.put(key)

    result = cloud.submit(content)

    status = cloud.status("run1")
    assert status["status"] == "REJECTED"
    assert reason in status["reason"]
    assert (status["datasets"], status["queued"]) == ({}, False)
    assert result == outcome(rejected=[{"job_id": "run1", "reason": status["reason"]}])
    assert cloud.messages() == []
    certificate = cloud.certificate("run1")
    assert "status:      REJECTED" in certificate and status["reason"] in certificate


def test_a_submit_file_of_exactly_256_kib_is_accepted(cloud):
    assert cloud.submit(submit_of().ljust(262144)) == outcome(jobs=["run1"])


def test_rejected_status_has_every_field(cloud):
    cloud.submit(submit_of(dataname="labA/inputs/nope.csv"))

    status = cloud.status("run1")
    assert ISO_UTC.match(status.pop("updated"))
    assert status == {
        "status": "REJECTED", "submit_key": "labA/submissions/run1_submit.json", "job_id": "run1",
        "reason": "not found: labA/inputs/nope.csv (the dataname); upload it before the submit "
                  "file or fix the name",
        "affiliate": LAB, "configname": CONFIG, "datasets": {}, "queued": False,
        "submit_etag": etag(cloud, "labA/submissions/run1_submit.json")}


def test_rejection_of_a_dot_dot_key_names_the_field_and_value(cloud):
    cloud.submit(submit_of(dataname=[DATA, "labA/inputs/../../etc/passwd"]))

    assert cloud.status("run1")["reason"] == (
        'dataname[1] "labA/inputs/../../etc/passwd" contains a ".." or "." segment; '
        "name the file directly")


# --- redelivery, crashes, job-id reuse -----------------------------------------------------

def test_duplicate_delivery_queues_once(cloud):
    event = s3_event("labA/submissions/run1_submit.json")
    cloud.put("labA/submissions/run1_submit.json", submit_of())

    first = submit_start.handler(event, None)
    second = submit_start.handler(event, None)

    assert (first, second) == (outcome(jobs=["run1"]), outcome(duplicates=["run1"]))
    assert len(cloud.messages()) == 1
    assert len(cloud.notices()) == 1


def test_duplicate_delivery_of_a_rejected_submission_is_quiet(cloud):
    cloud.submit(submit_of(dataname="labA/inputs/nope.csv"))

    again = submit_start.handler(s3_event("labA/submissions/run1_submit.json"), None)

    assert again == outcome(duplicates=["run1"])
    assert len(cloud.notices()) == 1


def test_sqs_throttling_raises_so_lambda_retries(cloud, monkeypatch):
    # moto cannot throttle: the ThrottlingException is simulated on the handler's SQS client.
    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "SendMessageBatch")
    monkeypatch.setattr(submit_start.client("sqs"), "send_message_batch", throttled)

    with pytest.raises(ClientError, match="ThrottlingException"):
        cloud.submit(submit_of())

    status = cloud.status("run1")
    assert (status["status"], status["queued"]) == ("QUEUED", False)
    assert cloud.messages() == []


def test_s3_slow_down_raises_so_lambda_retries(cloud, monkeypatch):
    # moto cannot answer 503 SlowDown: simulated on the handler's S3 client.
    def slow_down(**kwargs):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate"},
                           "ResponseMetadata": {"HTTPStatusCode": 503}}, "HeadObject")
    monkeypatch.setattr(submit_start.client("s3"), "head_object", slow_down)

    with pytest.raises(ClientError, match="SlowDown"):
        cloud.submit(submit_of())

    assert cloud.keys("labA/results/") == []


def crash_once_on_sqs(monkeypatch):
    sqs = submit_start.client("sqs")
    real = sqs.send_message_batch
    calls = []

    def unavailable_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:  # simulated: moto cannot fail a request
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try again"},
                               "ResponseMetadata": {"HTTPStatusCode": 503}}, "SendMessageBatch")
        return real(**kwargs)
    monkeypatch.setattr(sqs, "send_message_batch", unavailable_once)


def test_redelivery_after_a_crash_between_status_and_queue_sends_the_messages(cloud, monkeypatch):
    crash_once_on_sqs(monkeypatch)
    with pytest.raises(ClientError):
        cloud.submit(submit_of())
    assert cloud.status("run1")["queued"] is False
    monkeypatch.setattr(submit_start, "IN_FLIGHT_SECONDS", 0)  # the crashed attempt is long gone

    again = submit_start.handler(s3_event("labA/submissions/run1_submit.json"), None)

    assert again == outcome(jobs=["run1"])
    assert [body["dataname"] for body in cloud.bodies()] == [DATA]
    assert (cloud.status("run1")["status"], cloud.status("run1")["queued"]) == ("QUEUED", True)
    assert submit_start.handler(s3_event("labA/submissions/run1_submit.json"), None) == outcome(
        duplicates=["run1"])


def test_redelivery_while_the_first_attempt_may_still_be_queueing_retries_later(cloud, monkeypatch):
    crash_once_on_sqs(monkeypatch)
    with pytest.raises(ClientError):
        cloud.submit(submit_of())

    with pytest.raises(RetryLater, match="being queued by another attempt"):
        submit_start.handler(s3_event("labA/submissions/run1_submit.json"), None)

    assert cloud.messages() == []


def test_job_id_reuse_by_another_submission_is_rejected_without_touching_the_first(cloud):
    cloud.submit(submit_of(timestamp="t1"), name="first_submit.json")
    first_status = cloud.read("labA/results/job_t1/logs/status.json")
    first_certificate = cloud.certificate("t1")
    second_key = "labA/submissions/second_submit.json"

    result = cloud.submit(submit_of(timestamp="t1", note="changed"), name="second_submit.json")

    rejected_id = f"t1-rejected-{etag(cloud, second_key)[:8]}"
    reason = ('job id t1 is already used by "labA/submissions/first_submit.json"; '
              "give the submission a new timestamp or file name")
    assert result == outcome(rejected=[{"job_id": rejected_id, "reason": reason}])
    assert cloud.read("labA/results/job_t1/logs/status.json") == first_status
    assert cloud.certificate("t1") == first_certificate
    assert cloud.status(rejected_id)["submit_key"] == second_key
    assert cloud.status(rejected_id)["status"] == "REJECTED"
    assert len(cloud.messages()) == 1
    assert submit_start.handler(s3_event(second_key), None) == outcome(duplicates=[rejected_id])


def test_reupload_of_the_same_submit_file_with_new_content_is_a_reuse(cloud):
    cloud.submit(submit_of())

    result = cloud.submit(submit_of(timestamp="not a token"))

    assert result["rejected"][0]["job_id"].startswith("run1-rejected-")
    assert "job id run1 is already used by" in result["rejected"][0]["reason"]


def test_an_invalid_submission_reusing_a_job_id_keeps_its_own_reason_too(cloud):
    cloud.submit(submit_of(), name="a_submit.json")

    result = cloud.submit(submit_of(timestamp="a", dataname="labA/inputs/nope.csv"),
                          name="b_submit.json")

    (rejected,) = result["rejected"]
    assert rejected["reason"].startswith("not found: labA/inputs/nope.csv (the dataname)")
    assert '(also, job id a is already used by "labA/submissions/a_submit.json"' in rejected["reason"]


# --- keys and job ids ----------------------------------------------------------------------

def test_url_encoded_submit_key_with_spaces_and_unicode(cloud):
    key = "labA/submissions/my run é_submit.json"
    cloud.put(key, submit_of(timestamp="spaced"))
    event = s3_event(key)
    assert event["Records"][0]["s3"]["object"]["key"] == "labA/submissions/my+run+%C3%A9_submit.json"

    assert submit_start.handler(event, None) == outcome(jobs=["spaced"])
    assert cloud.status("spaced")["submit_key"] == key
    assert cloud.bodies()[0]["submit_key"] == key


def test_a_literal_plus_in_a_key_arrives_as_percent_2b(cloud):
    key = "labA/submissions/a+b c_submit.json"
    cloud.put(key, submit_of())
    event = s3_event(key)
    assert event["Records"][0]["s3"]["object"]["key"] == "labA/submissions/a%2Bb+c_submit.json"

    submit_start.handler(event, None)

    assert cloud.bodies()[0]["submit_key"] == key


def hashed(key):
    return "job-" + sha256(key.encode()).hexdigest()[:12]


@pytest.mark.parametrize("timestamp, name, job_id", [
    pytest.param("2024-05-01T10-00", "x_submit.json", "2024-05-01T10-00", id="token_timestamp"),
    pytest.param("a" * 64, "x_submit.json", "a" * 64, id="timestamp_of_64_characters"),
    pytest.param("a" * 65, "run7_submit.json", "run7", id="timestamp_too_long_uses_file_name"),
    pytest.param("2024-05-01 10:00:00", "run7_submit.json", "run7", id="timestamp_with_spaces"),
    pytest.param("ok\n", "run7_submit.json", "run7", id="timestamp_with_trailing_newline"),
    pytest.param("-leading-dash", "run7-submit.json", "run7", id="timestamp_leading_dash"),
    pytest.param(None, "run.7._-submit.json", "run.7", id="file_name_trailing_separators_stripped"),
    pytest.param(None, "v2.submit.json", "v2", id="file_name_with_dot"),
    pytest.param(None, "submit.json", hashed("labA/submissions/submit.json"), id="bare_submit_json"),
    pytest.param(None, "é_submit.json", hashed("labA/submissions/é_submit.json"), id="unicode_name"),
    pytest.param(None, "my run_submit.json", hashed("labA/submissions/my run_submit.json"),
                 id="name_with_space"),
])
def test_job_id_is_the_timestamp_else_the_file_name_else_a_hash(cloud, timestamp, name, job_id):
    fields = {} if timestamp is None else {"timestamp": timestamp}

    assert cloud.submit(json.loads(submit_of(**fields)), name=name) == outcome(jobs=[job_id])
    assert cloud.status(job_id)["job_id"] == job_id


def test_rejected_submission_without_json_gets_its_job_id_from_the_file_name(cloud):
    result = cloud.submit(b"not json", name="broken_submit.json")

    assert result["rejected"][0]["job_id"] == "broken"


@pytest.mark.parametrize("key, bucket", [
    pytest.param("labA/submissions/run1_submit.json", "other-bucket", id="another_bucket"),
    pytest.param("labA/inputs/run1_submit.json", BUCKET, id="not_under_submissions"),
    pytest.param("labA/submissions/run1.json", BUCKET, id="not_a_submit_json"),
    pytest.param("submissions/run1_submit.json", BUCKET, id="no_lab_folder"),
    pytest.param("labA/submissions/gone_submit.json", BUCKET, id="submit_file_deleted"),
])
def test_other_keys_are_ignored_without_a_status(cloud, key, bucket):
    assert submit_start.handler(s3_event(key, bucket), None) == outcome(ignored=[key])
    assert cloud.keys("labA/results/") == []


# --- FIFO queue and notices ----------------------------------------------------------------

def test_fifo_messages_are_grouped_by_lab_and_deduplicated_per_dataset(cloud):
    cloud.env(QUEUE_URL=cloud.fifo, QUEUE_FIFO="true")
    cloud.put("labA/inputs/y.csv")

    cloud.submit(submit_of(dataname=[DATA, "labA/inputs/y.csv"], timestamp="f1"))

    messages = cloud.messages(cloud.fifo, MessageSystemAttributeNames=["All"])
    found = {json.loads(m["Body"])["dataname"]: m["Attributes"] for m in messages}
    assert sorted(found) == [DATA, "labA/inputs/y.csv"]
    for dataname, attributes in found.items():
        assert attributes["MessageGroupId"] == LAB
        assert attributes["MessageDeduplicationId"] == sha256(f"f1\n{dataname}".encode()).hexdigest()


@pytest.mark.parametrize("content, status, reason_part", [
    pytest.param(submit_of(timestamp="n1"), "QUEUED", "reason: -", id="queued"),
    pytest.param(submit_of(timestamp="n1", dataname="labA/inputs/nope.csv"), "REJECTED",
                 "reason: not found: labA/inputs/nope.csv", id="rejected"),
])
def test_the_lab_gets_an_sns_notice_with_its_affiliate_attribute(cloud, content, status, reason_part):
    cloud.submit(content)

    (notice,) = cloud.notices()
    assert notice["Subject"] == f"NCAP job n1 {status}"
    assert notice["MessageAttributes"] == {"affiliate": {"Type": "String", "Value": LAB}}
    assert f"Job n1 of lab labA: {status}" in notice["Message"]
    assert reason_part in notice["Message"]


def test_a_failed_notice_does_not_fail_the_submission(cloud, decisions):
    cloud.env(TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:no-such-topic")

    assert cloud.submit(submit_of()) == outcome(jobs=["run1"])
    assert len(cloud.messages()) == 1
    assert any(line["decision"] == "notice-failed" for line in decisions())


# --- logging -------------------------------------------------------------------------------

def test_one_decision_line_per_outcome_and_never_the_submit_content(cloud, decisions):
    cloud.submit(submit_of(secret_note="AKIAIOSFODNN7EXAMPLE"))
    cloud.submit(b'{"dataname": "labA/inputs/nope.csv", "token": "s3cr3t-value"}', name="b_submit.json")

    lines = decisions()
    assert {"decision": "queued", "job_id": "run1", "affiliate": LAB, "messages": 1,
            "submit_key": "labA/submissions/run1_submit.json"} in lines
    rejected = [line for line in lines if line["decision"] == "rejected"]
    assert [(line["job_id"], line["affiliate"]) for line in rejected] == [("b", LAB)]
    text = json.dumps(lines)
    assert "AKIAIOSFODNN7EXAMPLE" not in text and "s3cr3t-value" not in text


# --- fileset mode --------------------------------------------------------------------------

@pytest.fixture
def fileset(cloud):
    cloud.env(TRIGGER_MODE="fileset", FILESET_SUFFIXES=".mp4,.hpf")
    return cloud


def upload(cloud, key, body=b"frames"):
    cloud.put(key, body)
    return submit_start.handler(s3_event(key), None)


@pytest.mark.parametrize("first, last", [
    pytest.param("labA/inputs/mouse1.mp4", "labA/inputs/mouse1.hpf", id="video_first"),
    pytest.param("labA/inputs/mouse1.hpf", "labA/inputs/mouse1.mp4", id="hpf_first"),
])
def test_fileset_starts_one_job_when_the_last_file_arrives(fileset, first, last):
    assert upload(fileset, first) == outcome(waiting=[first])
    assert fileset.keys("labA/results/") == []

    assert upload(fileset, last) == outcome(jobs=["mouse1"])

    (body,) = fileset.bodies()
    assert body == {
        "version": 1, "bucket": BUCKET, "affiliate": LAB, "job_id": "mouse1",
        "submit_key": "labA/inputs/mouse1.mp4", "dataname": "labA/inputs/mouse1.mp4",
        "datanames": ["labA/inputs/mouse1.mp4", "labA/inputs/mouse1.hpf"], "configname": None,
        "resultpath": "labA/results/job_mouse1/process_results/",
        "status_key": "labA/results/job_mouse1/logs/status.json"}
    assert fileset.status("mouse1")["status"] == "QUEUED"


def test_fileset_events_of_both_files_make_one_job(fileset):
    fileset.put("labA/inputs/day 2/mouse2.mp4")
    fileset.put("labA/inputs/day 2/mouse2.hpf")

    results = [submit_start.handler(s3_event(key), None)
               for key in ("labA/inputs/day 2/mouse2.hpf", "labA/inputs/day 2/mouse2.mp4")]

    assert results == [outcome(jobs=["mouse2"]), outcome(duplicates=["mouse2"])]
    assert len(fileset.messages()) == 1


def test_fileset_uses_the_default_config_when_it_exists(fileset):
    fileset.env(DEFAULT_CONFIG_NAME="c.yaml")
    fileset.put("labA/inputs/m3.mp4")

    upload(fileset, "labA/inputs/m3.hpf")

    assert fileset.bodies()[0]["configname"] == CONFIG


def test_fileset_ignores_other_files(fileset):
    assert upload(fileset, "labA/inputs/notes.txt") == outcome(ignored=["labA/inputs/notes.txt"])


def test_fileset_with_an_unsafe_key_is_rejected(fileset):
    fileset.put("labA/inputs/a\\b.mp4")

    result = upload(fileset, "labA/inputs/a\\b.hpf")

    (rejected,) = result["rejected"]
    assert rejected["reason"].startswith('file "labA/inputs/a\\\\b.mp4" contains a backslash')
    assert fileset.messages() == []


def test_fileset_uploaded_again_with_new_content_is_a_job_id_reuse(fileset):
    fileset.put("labA/inputs/m4.mp4")
    upload(fileset, "labA/inputs/m4.hpf")
    fileset.messages()

    result = upload(fileset, "labA/inputs/m4.mp4", b"other frames")

    (rejected,) = result["rejected"]
    assert rejected["job_id"].startswith("m4-rejected-")
    assert rejected["reason"] == ('job id m4 is already used by "labA/inputs/m4.mp4"; '
                                  "give the files a new name")
    assert fileset.messages() == []


# --- events, settings, error classes -------------------------------------------------------

@pytest.mark.parametrize("event", [
    pytest.param({}, id="no_records"),
    pytest.param({"Records": []}, id="empty_records"),
    pytest.param(None, id="none"),
])
def test_events_without_records_do_nothing(cloud, event):
    assert submit_start.handler(event, None) == outcome()


def test_a_record_that_is_not_from_s3_is_ignored(cloud):
    assert submit_start.handler({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, None) == (
        outcome(ignored=[""]))


def test_settings_are_read_at_call_time(cloud):
    cloud.env(RESULTS_FOLDER="out")

    cloud.submit(submit_of())

    assert cloud.keys("labA/out/") == ["labA/out/job_run1/logs/certificate.txt",
                                       "labA/out/job_run1/logs/status.json"]


def client_error(code, http_status):
    return ClientError({"Error": {"Code": code, "Message": code},
                        "ResponseMetadata": {"HTTPStatusCode": http_status}}, "Operation")


@pytest.mark.parametrize("error, retryable", [
    pytest.param(client_error("ThrottlingException", 400), True, id="sqs_throttling"),
    pytest.param(client_error("SlowDown", 503), True, id="s3_slow_down"),
    pytest.param(client_error("InternalError", 500), True, id="s3_internal_error"),
    pytest.param(client_error("RequestTimeout", 400), True, id="s3_request_timeout"),
    pytest.param(client_error("SomethingNew", 502), True, id="any_5xx"),
    pytest.param(EndpointConnectionError(endpoint_url="https://sqs"), True, id="no_connection"),
    pytest.param(ReadTimeoutError(endpoint_url="https://s3"), True, id="read_timeout"),
    pytest.param(RetryLater("in flight"), True, id="retry_later"),
    pytest.param(client_error("AccessDenied", 403), False, id="access_denied"),
    pytest.param(ValueError("bug"), False, id="not_an_aws_error"),
])
def test_errors_a_retry_could_fix(error, retryable):
    assert is_retryable(error) is retryable


# --- one bucket-wide rule: keys outside a configured lab's folder ------------------------------

@pytest.mark.parametrize("key", [
    pytest.param("labA/results/job_1/process_results/x_submit.json", id="a-result-of-labA"),
    pytest.param("labB/submissions/results/x_submit.json", id="deep-under-labB-submissions-is-still-labB"),
    pytest.param("labZ/submissions/run1_submit.json", id="a-lab-this-pipeline-does-not-have"),
    pytest.param("logs/submissions/run1_submit.json", id="the-pipelines-own-records"),
])
def test_a_submit_json_outside_a_configured_labs_submissions_starts_nothing(cloud, key):
    cloud.put(key, json.dumps({"dataname": DATA, "configname": CONFIG}).encode())
    result = submit_start.handler(s3_event(key), None)
    if key.startswith("labB/submissions/"):  # a configured lab's folder: checked, and rejected there only
        assert result["rejected"] and cloud.keys("labA/results/") == []
        return
    assert result == outcome(ignored=[key])
    assert cloud.messages() == [] and [k for k in cloud.keys() if "/logs/" in k] == []


@pytest.mark.parametrize("key", ["labA/results/job_1/process_results/out.mp4", "labZ/inputs/mouse1.mp4"])
def test_a_fileset_file_outside_a_configured_labs_inputs_is_ignored(fileset, key):
    upload(fileset, key.replace(".mp4", ".hpf"))
    assert upload(fileset, key) == outcome(ignored=[key])
    assert fileset.messages() == []


def test_the_pipeline_version_is_written_into_the_certificate(cloud):
    cloud.env(PIPELINE_VERSION="2.3.1")
    cloud.submit({"dataname": DATA, "configname": CONFIG, "timestamp": "v1"})
    assert "pipeline:    version 2.3.1" in cloud.certificate("v1")
    cloud.env(PIPELINE_VERSION=None)
    cloud.submit({"dataname": DATA, "configname": CONFIG, "timestamp": "v2"}, name="run2_submit.json")
    assert "pipeline:" not in cloud.certificate("v2")
