"""The job queue's calls that can come too late: a delete or a visibility change whose receipt no
longer holds the message (another receive took it, or it is gone) is logged and answered False,
never raised; any other error is the caller's to handle."""
import pytest

from ncap_iac.worker import queue

from .faults import StandaloneSqs, aws_error
from .helpers import cloud, decisions  # noqa: F401

DELIVERY = queue.Delivery("m-1", "{}", "receipt-1", 2)
GONE_CODES = ["ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight",
              "AWS.SimpleQueueService.NonExistentQueue"]


@pytest.mark.parametrize("code", GONE_CODES)
def test_a_delete_too_late_is_logged_and_answered_false(decisions, code):
    sqs = StandaloneSqs(aws_error(code, "DeleteMessage"))
    assert queue.delete(sqs, "https://q", DELIVERY, job_id="j1") is False
    [line] = decisions.named("delete-too-late")
    assert (line["error"], line["job_id"]) == (code, "j1")
    assert sqs.calls == [{"QueueUrl": "https://q", "ReceiptHandle": "receipt-1"}]


@pytest.mark.parametrize("code", GONE_CODES)
def test_a_visibility_change_too_late_is_logged_and_answered_false(decisions, code):
    sqs = StandaloneSqs(aws_error(code, "ChangeMessageVisibility"))
    assert queue.set_visibility(sqs, "https://q", DELIVERY, 30, job_id="j1") is False
    [line] = decisions.named("visibility-too-late")
    assert (line["error"], line["job_id"]) == (code, "j1")
    assert sqs.calls == [{"QueueUrl": "https://q", "ReceiptHandle": "receipt-1", "VisibilityTimeout": 30}]


def test_calls_that_hold_answer_true_and_log_nothing(decisions):
    sqs = StandaloneSqs(None)
    assert queue.delete(sqs, "https://q", DELIVERY) is True
    assert queue.set_visibility(sqs, "https://q", DELIVERY, 0) is True
    assert decisions.lines == []


def test_other_errors_are_raised_for_the_caller(decisions):
    with pytest.raises(Exception, match="InternalError"):
        queue.delete(StandaloneSqs(aws_error("InternalError", "DeleteMessage")), "https://q", DELIVERY)
    with pytest.raises(Exception, match="AccessDenied"):
        queue.set_visibility(StandaloneSqs(aws_error("AccessDenied", "ChangeMessageVisibility")), "https://q",
                             DELIVERY, 5)
    assert decisions.lines == []


def test_a_receipt_of_a_deleted_message_is_too_late_on_the_emulator(cloud, decisions):
    """moto answers a visibility change of a message deleted meanwhile with ReceiptHandleIsInvalid."""
    cloud.send({"x": 1})
    delivery = cloud.receive()
    cloud.sqs.delete_message(QueueUrl=cloud.queue, ReceiptHandle=delivery.receipt)
    assert queue.set_visibility(cloud.sqs, cloud.queue, delivery, 0, job_id="j1") is False
    assert decisions.named("visibility-too-late")[0]["error"] == "ReceiptHandleIsInvalid"

