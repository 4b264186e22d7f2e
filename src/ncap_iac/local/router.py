"""S3 -> submit function, without Docker: the bucket's Lambda notifications become SQS
notifications (which moto delivers) to a router queue, and a thread runs the real submit handler
on each event, as Lambda would. A handler error leaves the event for a retry; after three tries the
event goes to the template's trigger dead-letter queue, as an asynchronous Lambda's would."""
from __future__ import annotations

import json
import logging
import threading

from .invoke import FunctionSpec, invoke

LOG = logging.getLogger("ncap.local.router")
RETRIES_BEFORE_DEAD_LETTER = 3


def route_notifications(clients, bucket: str, lambda_configurations: list, dead_letter_arn: str,
                        region: str) -> str:
    """Create the router queue and point the bucket's notifications at it; returns its URL."""
    url = clients.sqs.create_queue(QueueName=f"{bucket}-local-s3-events", Attributes={
        "VisibilityTimeout": "5",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn,
                                     "maxReceiveCount": RETRIES_BEFORE_DEAD_LETTER})})["QueueUrl"]
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    clients.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [_queue_configuration(c, arn) for c in lambda_configurations]})
    return url


def _queue_configuration(lambda_configuration: dict, queue_arn: str) -> dict:
    rules = lambda_configuration.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    return {"QueueArn": queue_arn, "Events": [lambda_configuration["Event"]],
            "Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}}


class Router(threading.Thread):
    def __init__(self, sqs, queue_url: str, spec: FunctionSpec, region: str):
        super().__init__(name="ncap-s3-router", daemon=True)
        self.sqs, self.queue_url, self.spec, self.region = sqs, queue_url, spec, region
        self.stopping = threading.Event()
        self.handled = 0

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
        outcome = invoke(self.spec, event, self.region)
        self.handled += 1
        if "result" not in outcome:
            LOG.warning(json.dumps({"decision": "submit-error-retry", "error": outcome["errorMessage"][:200]}))
        return "result" in outcome

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
