"""The heartbeat keeps a running job's message hidden: a failing beat (a network blip) is logged
and the next beat tries again; a message gone from the queue ends the heartbeat quietly."""
import time

from ncap_iac.worker.heartbeat import Heartbeat
from ncap_iac.worker.queue import Delivery

from .faults import StandaloneSqs, aws_error, connection_error
from .helpers import decisions  # noqa: F401

DELIVERY = Delivery("m-1", "{}", "receipt-1", 1)


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.01)


def test_a_failing_beat_is_logged_and_the_next_beat_tries_again(decisions):
    sqs = StandaloneSqs(connection_error(), aws_error("InternalError", "ChangeMessageVisibility"), None)
    with Heartbeat(sqs, "https://q", DELIVERY, 0.15, job_id="j1") as beat:
        wait_until(lambda: beat.beats >= 2)
    failures = decisions.named("heartbeat-failed")
    assert [(f["error"], f["job_id"]) for f in failures] == [("EndpointConnectionError", "j1"), ("InternalError", "j1")]
    assert len(sqs.calls) >= 4  # two beats that failed, then two that held
    assert not beat._thread.is_alive(), "leaving the block stops it"


def test_each_beat_hides_the_message_one_step_ahead():
    sqs = StandaloneSqs(None)
    with Heartbeat(sqs, "https://q", DELIVERY, 3, job_id="j1") as beat:
        wait_until(lambda: beat.beats >= 1)
        beat.stop()
    assert sqs.calls[0] == {"QueueUrl": "https://q", "ReceiptHandle": "receipt-1", "VisibilityTimeout": 3}


def test_a_message_gone_ends_the_heartbeat(decisions):
    sqs = StandaloneSqs(aws_error("ReceiptHandleIsInvalid", "ChangeMessageVisibility"))
    with Heartbeat(sqs, "https://q", DELIVERY, 0.15, job_id="j1") as beat:
        wait_until(lambda: not beat._thread.is_alive())
    assert len(sqs.calls) == 1 and beat.beats == 0
    assert decisions.named("visibility-too-late")[0]["job_id"] == "j1"
    assert decisions.named("heartbeat-failed") == []
