"""The job queue (SQS), through the five actions the worker role allows: ReceiveMessage,
DeleteMessage, ChangeMessageVisibility, GetQueueAttributes, and SendMessage (a job queued again
after an interruption)."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from ..errors import NcapError
from ..lambda_repo.ncap_lambda.contract import RECEIPT_GONE, is_error
from .aws import describe
from .log import decision


@dataclass(frozen=True)
class Delivery:
    """One received message."""
    message_id: str
    body: str
    receipt: str
    receive_count: int


def receive(sqs, queue_url: str, wait: int, visibility: int) -> Delivery | None:
    """Long-poll for one message, hidden from other workers for `visibility` seconds."""
    reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=wait,
                                VisibilityTimeout=visibility,
                                MessageSystemAttributeNames=["ApproximateReceiveCount"])
    messages = reply.get("Messages") or []
    if not messages:
        return None
    message = messages[0]
    count = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", 1))
    return Delivery(message["MessageId"], message.get("Body", ""), message["ReceiptHandle"], count)


def delete(sqs, queue_url: str, delivery: Delivery, **fields) -> bool:
    """Delete the message; False (logged) when this receipt no longer holds it."""
    try:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=delivery.receipt)
        return True
    except Exception as error:
        if not is_error(error, *RECEIPT_GONE):
            raise
        decision("delete-too-late", logging.WARNING, error=describe(error), **fields)
        return False


def set_visibility(sqs, queue_url: str, delivery: Delivery, seconds: int, **fields) -> bool:
    """Hide the message for `seconds` more (0: visible at once); False (logged) when gone."""
    try:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=delivery.receipt,
                                      VisibilityTimeout=int(seconds))
        return True
    except Exception as error:
        if not is_error(error, *RECEIPT_GONE):
            raise
        decision("visibility-too-late", logging.WARNING, error=describe(error), **fields)
        return False


def requeue(sqs, queue_url: str, delivery: Delivery, group: str | None, target: str | None = None,
            **fields) -> None:
    """Queue the message again as a new one (its receive count starts over), on `target` (default:
    the same queue), then delete this one. `group`: the FIFO message group (the lab), None on a
    standard queue. Sent before the deletion: a failure in between leaves a duplicate, which the
    status check acknowledges."""
    extra = {}
    if group is not None:  # a deduplication id of its own: the same body within 5 minutes is no duplicate
        extra = {"MessageGroupId": group, "MessageDeduplicationId": f"{delivery.message_id}-requeued"}
    sqs.send_message(QueueUrl=target or queue_url, MessageBody=delivery.body, **extra)
    delete(sqs, queue_url, delivery, **fields)


def max_receive_count(sqs, queue_url: str) -> int | None:
    """maxReceiveCount of the queue's redrive policy; None when it has none."""
    try:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    except Exception as error:
        raise NcapError(f"cannot read the queue {queue_url}: {describe(error)}") from None
    policy = (attributes.get("Attributes") or {}).get("RedrivePolicy")
    if not policy:
        return None
    try:
        return int(json.loads(policy)["maxReceiveCount"])
    except (ValueError, KeyError, TypeError):
        raise NcapError(f"the queue's RedrivePolicy has no usable maxReceiveCount: {policy!r}") from None
