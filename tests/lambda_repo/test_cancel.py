"""A lab member's cancel request (LAB/submissions/...cancel.json holding {"job_id": ID}) through
the submit function, on an in-process moto AWS: a queued job is CANCELLED and its lab notified;
its messages, when a worker receives them, never run (tests/worker); a job that ended, an unknown
job or a request that names none changes nothing."""
import json

import submit_start
from .test_submit_start import CONFIG, DATA, LAB, cloud, outcome, s3_event  # noqa: F401


def cancel(cloud, body, lab=LAB, name="run1-cancel.json"):
    key = f"{lab}/submissions/{name}"
    cloud.put(key, body if isinstance(body, bytes) else json.dumps(body).encode())
    return submit_start.handler(s3_event(key), None)


def test_a_queued_job_is_cancelled_at_once_and_its_lab_told(cloud):
    assert cloud.submit({"dataname": DATA, "configname": CONFIG}) == outcome(jobs=["run1"])
    cloud.notices()
    result = cancel(cloud, {"job_id": "run1"})
    assert result == {**outcome(), "cancelled": [{"job_id": "run1", "decision": "cancel-requested"}]}
    status = cloud.status("run1")
    assert status["status"] == "CANCELLED" and status["datasets"][DATA]["status"] == "CANCELLED"
    assert status["cancel_requested"]["key"] == f"{LAB}/submissions/run1-cancel.json"
    [notice] = cloud.notices()
    assert notice["Subject"] == "NCAP job run1 CANCELLED"


def test_a_job_that_ended_or_does_not_exist_is_left_alone(cloud):
    cloud.submit({"dataname": DATA, "configname": CONFIG})
    key = f"{LAB}/results/job_run1/logs/status.json"
    status = cloud.status("run1")
    status["status"], status["datasets"][DATA]["status"] = "SUCCESS", "SUCCESS"
    cloud.put(key, json.dumps(status).encode())
    assert cancel(cloud, {"job_id": "run1"})["cancelled"] == [{"job_id": "run1", "decision": "cancel-after-end"}]
    assert cloud.status("run1")["status"] == "SUCCESS" and "cancel_requested" not in cloud.status("run1")
    assert cancel(cloud, {"job_id": "nope"})["cancelled"] == [{"job_id": "nope", "decision": "cancel-unknown-job"}]


def test_a_request_names_a_job_of_its_own_lab_only(cloud):
    """The lab comes from the request's key (which IAM lets only the lab's members write), never
    from its body: labB's request for "run1" looks in labB's folders."""
    cloud.submit({"dataname": DATA, "configname": CONFIG})
    result = cancel(cloud, {"job_id": "run1"}, lab="labB")
    assert result["cancelled"] == [{"job_id": "run1", "decision": "cancel-unknown-job"}]
    assert cloud.status("run1")["status"] == "QUEUED"


def test_a_request_that_names_no_job_is_ignored_with_a_reason(cloud, caplog):
    for body in (b"not json", {"job": "run1"}, {"job_id": "../x"}, [1]):
        key = f"{LAB}/submissions/run1-cancel.json"
        assert cancel(cloud, body) == outcome(ignored=[key])
    assert 'not a cancel request: write {\\"job_id\\": \\"ID\\"}' in caplog.text
