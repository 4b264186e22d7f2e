"""Answering CloudFormation custom-resource requests: always, and before the Lambda times out.

`custom_resource(work)` turns `work(event, context) -> (physical_id, data)` into a Lambda
handler that PUTs SUCCESS (with that id and data) or FAILED (with the error as the reason) to the
request's ResponseURL. A stack never waits an hour for an answer that will not come.
"""
import functools
import json
import logging
import threading
import traceback
import urllib.request

from .log import get_logger, log_decision

SUCCESS = "SUCCESS"
FAILED = "FAILED"
REASON_LIMIT = 300  # characters of an error kept in the FAILED reason
DEADLINE_MARGIN_MS = 5000  # answer FAILED this long before the Lambda's own timeout
PUT_TIMEOUT_S = 4  # the answer itself must fit inside the margin
RESPONSE_LIMIT_BYTES = 4096  # CloudFormation refuses longer answers
FAILED_CREATE_TAG = "-create-failed-"

LOG = get_logger("ncap_lambda.cfn_response")


def failed_create_id(event):
    """Physical id given to a Create that failed, so that the rollback Delete can be answered."""
    return f"{event['LogicalResourceId']}{FAILED_CREATE_TAG}{event['RequestId']}"


def is_failed_create(event):
    """True when the event's physical id is one `failed_create_id` made: nothing exists."""
    physical_id = event.get("PhysicalResourceId") or ""
    return physical_id.startswith(event["LogicalResourceId"] + FAILED_CREATE_TAG)


def response_body(event, status, reason, physical_id, data=None):
    """The JSON document CloudFormation expects at the ResponseURL."""
    return {"Status": status, "Reason": reason, "PhysicalResourceId": physical_id,
            "StackId": event["StackId"], "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"], "Data": data or {}, "NoEcho": False}


def send(event, status, reason, physical_id, data=None):
    """PUT the answer to the ResponseURL; True when it was delivered. Never raises."""
    body = json.dumps(response_body(event, status, reason, physical_id, data)).encode("utf-8")
    if len(body) > RESPONSE_LIMIT_BYTES:
        log_decision(LOG, "response-over-cloudformation-limit", logging.WARNING, size=len(body))
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={
        "Content-Type": "", "Content-Length": str(len(body))})
    try:
        with urllib.request.urlopen(request, timeout=PUT_TIMEOUT_S) as reply:
            http_status = reply.status
    except (OSError, ValueError) as error:
        log_decision(LOG, "response-not-delivered", logging.ERROR, status=status,
                     error=f"{type(error).__name__}: {error}")
        return False
    log_decision(LOG, "response-sent", status=status, reason=reason, physical_id=physical_id,
                 data_keys=sorted(data or {}), http_status=http_status)
    return True


def seconds_before_deadline(context):
    """Time the work may take: the Lambda's remaining time less the margin (None: no limit)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return max(remaining() - DEADLINE_MARGIN_MS, 0) / 1000


def run_before_deadline(work, event, context):
    """Run `work` in a thread; return {"result": ...}, {"error": ...} or {"timed_out": True}."""
    outcome = {}

    def target():
        try:
            outcome["result"] = work(event, context)
        except Exception as error:  # every error becomes a FAILED answer
            outcome["error"], outcome["traceback"] = error, traceback.format_exc()

    thread = threading.Thread(target=target, name="custom-resource-work", daemon=True)
    thread.start()
    thread.join(seconds_before_deadline(context))
    if thread.is_alive():
        return {"timed_out": True}
    return outcome


def fallback_id(event):
    """Physical id of a FAILED answer: the resource's own, or a failed-create id."""
    return event.get("PhysicalResourceId") or failed_create_id(event)


def failure_reason(error):
    reason = f"{type(error).__name__}: {error}"
    return reason if len(reason) <= REASON_LIMIT else reason[:REASON_LIMIT - 3] + "..."


def answer(event, outcome):
    """(status, reason, physical_id, data) for the outcome of the work."""
    if outcome.get("timed_out"):
        log_decision(LOG, "work-timed-out", logging.ERROR)
        return FAILED, "timed out before the Lambda deadline", fallback_id(event), {}
    if "error" in outcome:
        log_decision(LOG, "work-failed", logging.ERROR, error=failure_reason(outcome["error"]),
                     traceback=outcome["traceback"])
        return FAILED, failure_reason(outcome["error"]), fallback_id(event), {}
    result = outcome.get("result")
    if not (isinstance(result, tuple) and len(result) == 2 and result[0]):
        return FAILED, "the handler returned no physical id", fallback_id(event), {}
    physical_id, data = result
    if event["RequestType"] == "Delete":
        physical_id = event["PhysicalResourceId"]
    return SUCCESS, "", physical_id, data or {}


def custom_resource(work):
    """Decorator: `work(event, context) -> (physical_id, data)` becomes a handler that always
    answers CloudFormation and returns the answer it sent."""
    @functools.wraps(work)
    def handler(event, context):
        log_decision(LOG, "request", request_type=event.get("RequestType"),
                     logical_id=event.get("LogicalResourceId"),
                     physical_id=event.get("PhysicalResourceId"))
        if event.get("RequestType") == "Delete" and is_failed_create(event):
            log_decision(LOG, "skip-delete-of-failed-create", physical_id=event["PhysicalResourceId"])
            status, reason, physical_id, data = SUCCESS, "", event["PhysicalResourceId"], {}
        else:
            outcome = run_before_deadline(work, event, context)
            status, reason, physical_id, data = answer(event, outcome)
        send(event, status, reason, physical_id, data)
        return response_body(event, status, reason, physical_id, data)
    return handler
