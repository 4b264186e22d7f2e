"""S3 -> submit function, without Docker: the bucket's Lambda notifications become SQS
notifications (which moto delivers) to a router queue, and a thread runs the real submit handler
on each event, as Lambda would. A handler error leaves the event for a retry; after three tries the
event goes to the template's trigger dead-letter queue, as an asynchronous Lambda's would."""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from ..emulator.functions import Invocation

LOG = logging.getLogger("ncap.local.router")
RETRIES_BEFORE_DEAD_LETTER = 3
THREADS = 4  # events handled at once, as Lambda runs concurrent invocations


def route_notifications(aws, bucket: str, lambda_configurations: list, dead_letter_arn: str) -> str:
    """Create the router queue and point the bucket's notifications at it; returns its URL."""
    url = aws.sqs.create_queue(QueueName=f"{bucket}-local-s3-events", Attributes={
        "VisibilityTimeout": "5",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn,
                                     "maxReceiveCount": RETRIES_BEFORE_DEAD_LETTER})})["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [_queue_configuration(c, arn) for c in lambda_configurations]})
    return url


def _queue_configuration(lambda_configuration: dict, queue_arn: str) -> dict:
    rules = lambda_configuration.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    return {"QueueArn": queue_arn, "Events": [lambda_configuration["Event"]],
            "Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}}


class Router:
    """THREADS pollers of the router queue, each running the handler on the events it gets."""

    def __init__(self, sqs, queue_url: str, handler: Callable[[dict], Invocation]):
        self.sqs, self.queue_url, self.handler = sqs, queue_url, handler
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, name=f"ncap-s3-router-{n}", daemon=True)
                        for n in range(THREADS)]

    def start(self) -> None:
        self.handler({"Records": []})  # warm start: the handler makes its clients in one thread
        for thread in self.threads:
            thread.start()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._poll_once()
            except Exception as exc:  # the emulator went away or answered badly: keep the loop alive
                LOG.warning(json.dumps({"decision": "router-error", "error": str(exc)[:200]}))
                self.stopping.wait(1.0)

    def _poll_once(self) -> None:
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            if self._deliver(json.loads(message["Body"])):
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _deliver(self, event: dict) -> bool:
        if "Records" not in event:  # S3's test event when notifications are configured
            return True
        outcome = self.handler(event)
        if not outcome.ok:
            error = (outcome.error or {}).get("errorMessage", "")
            LOG.warning(json.dumps({"decision": "submit-error-retry", "error": error[:200]}))
        return outcome.ok

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=5)
