"""A job runs with exactly what was submitted: the submit function pins each dataset and config to
the version the submission means (given in "versions", else the one current when the submit file
was uploaded), records it in status.json, the certificate and the messages, and answers the same
submit file uploaded again. On a versioned bucket of an in-process moto AWS, as every pipeline
bucket is."""
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from ncap_lambda.pinning import NotSubmitted, version_at

import submit_start
from .test_submit_start import BUCKET, CONFIG, DATA, LAB, cloud, outcome, s3_event  # noqa: F401

T = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def versioned(cloud):
    cloud.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    cloud.put(DATA)
    cloud.put(CONFIG, b"top: 2\n")
    return cloud


def versions_of(cloud, key):
    return [v["VersionId"] for v in cloud.s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]
            if v["Key"] == key]  # newest first


def submit(cloud, document, name="run1_submit.json"):
    key = f"{LAB}/submissions/{name}"
    cloud.put(key, json.dumps(document).encode())
    return key


# --- which version a submission means --------------------------------------------------------

def test_the_version_current_at_the_submission_is_the_newest_no_later_than_it():
    history = [(T + timedelta(seconds=5), "v3"), (T + timedelta(milliseconds=400), "v2"), (T - timedelta(days=1), "v1")]
    assert version_at(history, T + timedelta(seconds=1), "k") == "v2"
    assert version_at(history, T + timedelta(milliseconds=100), "k") == "v2"  # the same second counts as before
    assert version_at(history, T - timedelta(hours=1), "k") == "v1"


def test_an_object_uploaded_only_after_the_submission_or_deleted_then_is_not_submitted():
    with pytest.raises(NotSubmitted, match="k was uploaded after the submit file"):
        version_at([(T + timedelta(seconds=2), "v1")], T, "k")
    with pytest.raises(NotSubmitted, match="k was deleted when the submission was uploaded"):
        version_at([(T + timedelta(seconds=2), "v2"), (T - timedelta(seconds=2), None), (T - timedelta(days=1), "v1")],
                   T, "k")


# --- the submit function ------------------------------------------------------------------------

def test_status_certificate_and_message_carry_the_versions_the_job_runs_with(versioned):
    result = versioned.submit({"dataname": DATA, "configname": CONFIG})
    assert result == outcome(jobs=["run1"])
    pinned = {DATA: versions_of(versioned, DATA)[0], CONFIG: versions_of(versioned, CONFIG)[0]}
    assert versioned.status("run1")["versions"] == pinned
    [body] = versioned.bodies()
    assert body["versions"] == pinned
    certificate = versioned.certificate("run1")
    assert f"config:      {CONFIG} (version {pinned[CONFIG]})" in certificate
    assert f"  {DATA} (version {pinned[DATA]}) ->" in certificate


def test_an_overwrite_after_the_submission_but_before_the_function_ran_is_not_used(versioned):
    key = submit(versioned, {"dataname": DATA, "configname": CONFIG})
    first = versions_of(versioned, CONFIG)[0]
    time.sleep(1.1)  # S3 times have whole seconds
    versioned.put(CONFIG, b"top: 9\n")
    assert submit_start.handler(s3_event(key), None) == outcome(jobs=["run1"])
    assert versioned.status("run1")["versions"][CONFIG] == first


def test_a_config_uploaded_only_after_the_submit_file_is_rejected_with_the_reason(versioned):
    other = f"{LAB}/configs/late.yaml"
    key = submit(versioned, {"dataname": DATA, "configname": other})
    time.sleep(1.1)
    versioned.put(other, b"late\n")
    result = submit_start.handler(s3_event(key), None)
    [rejected] = result["rejected"]
    assert rejected["reason"].startswith(f"{other} was uploaded after the submit file")
    assert versioned.status("run1")["status"] == "REJECTED" and versioned.bodies() == []


def test_versions_given_by_the_submission_are_used(versioned):
    older = versions_of(versioned, CONFIG)[0]
    versioned.put(CONFIG, b"top: 9\n")
    assert versioned.submit({"dataname": DATA, "configname": CONFIG, "versions": {CONFIG: older}}) == \
        outcome(jobs=["run1"])
    assert versioned.status("run1")["versions"][CONFIG] == older


@pytest.mark.parametrize("versions, reason", [
    ({CONFIG: "no-such-version"}, f"version no-such-version of {CONFIG} not found (the configname)"),
    ({f"{LAB}/inputs/other.csv": "v"}, f'versions names "{LAB}/inputs/other.csv", which is not a dataset'),
    ({CONFIG: 3}, "versions must be an object of"),
    ([CONFIG], "versions must be an object of"),
])
def test_versions_that_are_not_the_submissions_are_rejected(versioned, versions, reason):
    result = versioned.submit({"dataname": DATA, "configname": CONFIG, "versions": versions})
    [rejected] = result["rejected"]
    assert rejected["reason"].startswith(reason), rejected
    assert versioned.bodies() == []


def test_the_same_submit_file_uploaded_again_is_answered_and_the_job_left_alone(versioned):
    document = {"dataname": DATA, "configname": CONFIG}
    assert versioned.submit(document) == outcome(jobs=["run1"])
    again = versioned.submit(document)
    [answer] = again["rejected"]
    assert again["duplicates"] == ["run1"] and again["jobs"] == []
    assert answer["job_id"].startswith("run1-duplicate-")
    assert answer["reason"].startswith("a duplicate of job run1 (the same submit file with the same bytes, "
                                       "uploaded again; that job is QUEUED)")
    assert versioned.status(answer["job_id"])["status"] == "REJECTED"
    assert versioned.status("run1")["status"] == "QUEUED" and len(versioned.bodies()) == 1
    # the answer's own event delivered twice says nothing more
    key = f"{LAB}/submissions/run1_submit.json"
    assert submit_start.handler(s3_event(key), None) == outcome(duplicates=[answer["job_id"]])


def test_a_job_stuck_before_queueing_is_resumed_by_the_same_file_uploaded_again(versioned):
    from datetime import UTC, datetime, timedelta

    assert versioned.submit({"dataname": DATA, "configname": CONFIG}) == outcome(jobs=["run1"])
    versioned.bodies()
    key = f"{LAB}/results/job_run1/logs/status.json"
    stuck = {**versioned.status("run1"), "queued": False,
             "updated": (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    versioned.put(key, json.dumps(stuck).encode())
    assert versioned.submit({"dataname": DATA, "configname": CONFIG}) == outcome(jobs=["run1"])
    assert versioned.status("run1")["queued"] is True and len(versioned.bodies()) == 1


def test_an_event_is_about_the_upload_it_names_even_when_a_newer_one_came(versioned):
    key = submit(versioned, {"dataname": DATA, "configname": CONFIG, "timestamp": "first"})
    first = versions_of(versioned, key)[0]
    submit(versioned, {"dataname": DATA, "configname": CONFIG, "timestamp": "second"})
    event = s3_event(key)
    event["Records"][0]["s3"]["object"]["versionId"] = first
    assert submit_start.handler(event, None) == outcome(jobs=["first"])
    assert versioned.status("first")["submit_version"] == first


def test_a_version_naming_a_delete_marker_is_rejected_and_a_network_error_is_not_a_rejection(versioned):
    from ncap_lambda import submission
    from ncap_lambda.settings import read_settings

    versioned.s3.delete_object(Bucket=BUCKET, Key=CONFIG)
    marker = versioned.s3.list_object_versions(Bucket=BUCKET, Prefix=CONFIG)["DeleteMarkers"][0]["VersionId"]
    versioned.put(CONFIG, b"top: 2\n")
    result = versioned.submit({"dataname": DATA, "configname": CONFIG, "versions": {CONFIG: marker}})
    assert result["rejected"][0]["reason"].startswith(f"version {marker} of {CONFIG} not found")

    def unreachable(key, version):
        raise ConnectionError("the network dropped")

    with pytest.raises(ConnectionError):
        submission.check({"dataname": DATA, "configname": CONFIG}, read_settings(), LAB, unreachable)


def test_an_event_naming_a_version_that_is_not_there_reads_the_file_as_it_is(versioned):
    """A simulated event (ncap simevent, ncap invoke) names a made-up version; a real one may name
    a version deleted since: the submit file as it is now is read, and said in the log."""
    key = submit(versioned, {"dataname": DATA, "configname": CONFIG, "timestamp": "sim"})
    event = s3_event(key)
    event["Records"][0]["s3"]["object"]["versionId"] = "LbqXkkOwegronZ2vieoBJOFL7YYvvubD"
    assert submit_start.handler(event, None) == outcome(jobs=["sim"])
