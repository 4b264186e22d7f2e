"""The local cloud's upload router on a moto server: the bucket's notifications go to the router
queue; each event is handed to the handler; a handler that succeeds has its message deleted, S3's
test event (no "Records") is deleted without calling it, and one that keeps failing ends in the
trigger dead-letter queue after RETRIES_BEFORE_DEAD_LETTER receives, as an asynchronous Lambda's
event would. Waits are for the event itself (a condition polled against a deadline)."""
import json
import logging
import threading
import time
from urllib.parse import unquote_plus

import pytest

from ncap_iac.aws.clients import Aws
from ncap_iac.emulator.functions import Invocation
from ncap_iac.local.router import RETRIES_BEFORE_DEAD_LETTER, Router, route_notifications

BUCKET = "router-lab"
SUBMIT_RULE = {"Event": "s3:ObjectCreated:*", "Filter": {"S3Key": {"Rules": [
    {"Name": "prefix", "Value": "lab-a/submissions/"}, {"Name": "suffix", "Value": "submit.json"}]}}}


class Handler:
    """Records the events it is given; answers ok, or as Lambda reports an error."""

    def __init__(self, fails: bool = False):
        self.fails, self.events, self.lock = fails, [], threading.Lock()

    def __call__(self, event):
        with self.lock:
            self.events.append(event)
        if self.fails:
            return Invocation(error={"errorType": "RuntimeError", "errorMessage": "queue refused", "stackTrace": []})
        return Invocation(result={"jobs": []})

    def deliveries(self) -> list:
        """The events handed over, without the warm-up call start() makes."""
        with self.lock:
            return [e for e in self.events if e != {"Records": []}]


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def counts(aws, url) -> tuple[int, int]:
    attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def routed(moto_server):
    """A bucket whose submit uploads go to a router queue (visibility shortened to 1 s so that
    retries come quickly), and the trigger dead-letter queue behind it."""
    aws = Aws("us-east-1", moto_server)
    aws.s3.create_bucket(Bucket=BUCKET)
    dead = aws.sqs.create_queue(QueueName=f"{BUCKET}-trigger-dead")["QueueUrl"]
    dead_arn = aws.sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = route_notifications(aws, BUCKET, [SUBMIT_RULE], dead_arn)
    aws.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    routers = []

    def start(handler):
        router = Router(aws.sqs, url, handler)
        router.start()
        routers.append(router)
        return router

    yield aws, url, dead, start
    for router in routers:
        router.stop()


def test_route_notifications_sends_the_buckets_submit_uploads_to_the_router_queue(routed):
    aws, url, dead, _ = routed
    assert url.endswith(f"/{BUCKET}-local-s3-events")
    attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == RETRIES_BEFORE_DEAD_LETTER == 3
    assert redrive["deadLetterTargetArn"].endswith(f":{BUCKET}-trigger-dead")
    rules = aws.s3.get_bucket_notification_configuration(Bucket=BUCKET)["QueueConfigurations"]
    assert [r["Events"] for r in rules] == [["s3:ObjectCreated:*"]]
    assert sorted((f["Name"].lower(), f["Value"]) for f in rules[0]["Filter"]["Key"]["FilterRules"]) == [
        ("prefix", "lab-a/submissions/"), ("suffix", "submit.json")]

    aws.sqs.purge_queue(QueueUrl=url)  # S3's test event, if the emulator sent one
    aws.s3.put_object(Bucket=BUCKET, Key="lab-a/inputs/data.csv", Body=b"1")  # filtered out
    aws.s3.put_object(Bucket=BUCKET, Key="lab-a/submissions/run_submit.json", Body=b"{}")
    message = wait_for(lambda: aws.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"),
                       what="the upload's event on the router queue")
    records = json.loads(message[0]["Body"])["Records"]
    assert [unquote_plus(r["s3"]["object"]["key"]) for r in records] == ["lab-a/submissions/run_submit.json"]


def test_an_event_the_handler_takes_is_deleted(routed):
    aws, url, dead, start = routed
    aws.sqs.purge_queue(QueueUrl=url)
    handler = Handler()
    start(handler)
    event = {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "lab-a/submissions/a_submit.json"}}}]}
    aws.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    wait_for(lambda: handler.deliveries(), what="the event handed to the handler")
    wait_for(lambda: counts(aws, url) == (0, 0), what="the message deleted")
    assert handler.deliveries() == [event]
    assert handler.events[0] == {"Records": []}, "start() warms the handler up once"
    assert counts(aws, dead) == (0, 0)


def test_a_test_event_is_deleted_without_calling_the_handler(routed):
    aws, url, dead, start = routed
    aws.sqs.purge_queue(QueueUrl=url)
    handler = Handler(fails=True)
    start(handler)
    aws.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET}))
    wait_for(lambda: counts(aws, url) == (0, 0), what="the test event deleted")
    assert handler.deliveries() == [] and counts(aws, dead) == (0, 0)


def test_an_event_that_keeps_failing_ends_in_the_dead_letter_queue(routed, caplog):
    aws, url, dead, start = routed
    aws.sqs.purge_queue(QueueUrl=url)
    handler = Handler(fails=True)
    event = {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "lab-a/submissions/bad_submit.json"}}}]}
    with caplog.at_level(logging.WARNING, logger="ncap.local.router"):
        start(handler)
        aws.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
        dead_letters = wait_for(lambda: aws.sqs.receive_message(QueueUrl=dead, WaitTimeSeconds=1).get("Messages"),
                                timeout=60, what="the event in the dead-letter queue")
    assert [json.loads(m["Body"]) for m in dead_letters] == [event]
    assert handler.deliveries() == [event] * RETRIES_BEFORE_DEAD_LETTER
    assert counts(aws, url) == (0, 0)
    retries = [json.loads(r.getMessage()) for r in caplog.records if "submit-error-retry" in r.getMessage()]
    assert retries == [{"decision": "submit-error-retry", "error": "queue refused"}] * RETRIES_BEFORE_DEAD_LETTER


def test_stop_ends_every_poller(routed):
    aws, url, dead, start = routed
    router = start(Handler())
    assert all(t.is_alive() for t in router.threads)
    router.stop()
    assert not any(t.is_alive() for t in router.threads)
