import threading
import time

import pytest

from ncap_lambda import cfn_response
from ncap_lambda.cfn_response import custom_resource


def test_success_answer_is_a_put_with_every_field_cloudformation_reads(make_event, response_server, context):
    handler = custom_resource(lambda event, ctx: ("thing-1", {"Bucket": "lab-bucket"}))
    event = make_event("Create", {"Name": "x"})

    returned = handler(event, context)

    (received,) = response_server.received
    assert received["path"] == "/cfn-response?X-Amz-Signature=test"
    assert received["headers"]["Content-Type"] == ""
    assert int(received["headers"]["Content-Length"]) == len(received["raw"])
    assert received["body"] == {
        "Status": "SUCCESS", "Reason": "", "PhysicalResourceId": "thing-1",
        "StackId": event["StackId"], "RequestId": event["RequestId"],
        "LogicalResourceId": "Resource", "Data": {"Bucket": "lab-bucket"}, "NoEcho": False}
    assert returned == received["body"]


def test_failed_create_answers_failed_with_an_id_its_rollback_delete_can_use(make_event, response_server, context):
    def broken(event, ctx):
        raise RuntimeError("bucket lab-bucket does not exist")
    event = make_event("Create", {}, logical_id="AffiliateFolders")

    custom_resource(broken)(event, context)

    body = response_server.last()
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "RuntimeError: bucket lab-bucket does not exist"
    assert body["PhysicalResourceId"] == f"AffiliateFolders-create-failed-{event['RequestId']}"


def test_rollback_delete_of_a_failed_create_succeeds_without_running_the_work(make_event, response_server, context):
    calls = []
    handler = custom_resource(lambda event, ctx: calls.append(event) or ("id", {}))
    failed_id = "AffiliateFolders-create-failed-1111-2222"
    event = make_event("Delete", {}, physical_id=failed_id, logical_id="AffiliateFolders")

    handler(event, context)

    assert calls == []
    assert response_server.last()["Status"] == "SUCCESS"
    assert response_server.last()["PhysicalResourceId"] == failed_id


@pytest.mark.parametrize("request_type", ["Update", "Delete"])
def test_failure_of_an_existing_resource_keeps_its_physical_id(make_event, response_server, context, request_type):
    def broken(event, ctx):
        raise ValueError("no")
    event = make_event(request_type, {}, old={}, physical_id="lab-bucket-folders")

    custom_resource(broken)(event, context)

    assert response_server.last()["Status"] == "FAILED"
    assert response_server.last()["PhysicalResourceId"] == "lab-bucket-folders"


def test_delete_answers_with_the_physical_id_cloudformation_sent(make_event, response_server, context):
    handler = custom_resource(lambda event, ctx: ("some-other-id", {}))

    handler(make_event("Delete", {}, physical_id="lab-bucket-folders"), context)

    assert response_server.last()["PhysicalResourceId"] == "lab-bucket-folders"


def test_long_error_text_is_truncated_in_the_reason(make_event, response_server, context):
    def broken(event, ctx):
        raise RuntimeError("x" * 5000)

    custom_resource(broken)(make_event("Create", {}), context)

    reason = response_server.last()["Reason"]
    assert len(reason) == cfn_response.REASON_LIMIT
    assert reason.startswith("RuntimeError: xxx") and reason.endswith("...")


def test_work_returning_no_physical_id_answers_failed(make_event, response_server, context):
    custom_resource(lambda event, ctx: None)(make_event("Create", {}), context)

    assert response_server.last()["Status"] == "FAILED"
    assert "no physical id" in response_server.last()["Reason"]


def test_hanging_work_answers_failed_before_the_lambda_deadline(make_event, response_server, context_with):
    release = threading.Event()
    handler = custom_resource(lambda event, ctx: release.wait(30) and ("never", {}))
    context = context_with(remaining_ms=cfn_response.DEADLINE_MARGIN_MS + 200)

    started = time.monotonic()
    try:
        handler(make_event("Create", {}), context)
    finally:
        release.set()

    assert time.monotonic() - started < 2
    assert response_server.last()["Status"] == "FAILED"
    assert "timed out" in response_server.last()["Reason"]


def test_work_finishing_within_the_time_left_answers_success(make_event, response_server, context_with):
    handler = custom_resource(lambda event, ctx: time.sleep(0.05) or ("done", {}))

    handler(make_event("Create", {}), context_with(remaining_ms=cfn_response.DEADLINE_MARGIN_MS + 2000))

    assert response_server.last()["Status"] == "SUCCESS"


def test_without_a_lambda_context_the_work_runs_to_completion(make_event, response_server):
    custom_resource(lambda event, ctx: ("done", {}))(make_event("Create", {}), None)

    assert response_server.last()["PhysicalResourceId"] == "done"


def test_unreachable_response_url_is_logged_not_raised(make_event, context, decisions):
    event = make_event("Create", {})
    event["ResponseURL"] = "http://127.0.0.1:9/unreachable"

    returned = custom_resource(lambda e, ctx: ("id", {}))(event, context)

    assert returned["Status"] == "SUCCESS"
    assert "response-not-delivered" in [line["decision"] for line in decisions()]


def test_every_log_line_is_one_json_decision(make_event, response_server, context, decisions):
    def broken(event, ctx):
        raise RuntimeError("boom")

    custom_resource(broken)(make_event("Create", {}), context)

    assert [line["decision"] for line in decisions()] == ["request", "work-failed", "response-sent"]
    assert decisions()[-1]["status"] == "FAILED"
