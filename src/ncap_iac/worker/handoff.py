"""A stage that succeeds hands the dataset on: one message on the next stage's queue, its input
the folder this stage stored its outputs in, and a request to the next stage's group for
capacity (as the submit function makes for the first stage). Sent after SUCCESS is stored and
before this stage's message is deleted, then recorded in the next stage's entry (`handed_off`, the
message id): a worker killed before the send leaves its message to come back, and that redelivery
(the stage SUCCESS, the next QUEUED and not handed off) sends it again; once recorded, a
redelivery sends nothing, so the next stage gets one message however long its group takes to
start. A hand-off that fails on the queue's last allowed receive queues this stage's message again
as a new one (its receives start over), so that it is handed on later instead of dead-lettered."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace

from ..lambda_repo.ncap_lambda import capacity, contract
from . import status_store
from .log import decision

HANDED_OFF = "handed_off"  # the next stage's entry: the id of the message that queued it


@dataclass(frozen=True)
class NextStage:
    """What capacity.request needs to know of the next stage."""
    queue_url: str
    worker_group: str | None


def pending(task, document: dict) -> bool:
    """True when this stage is done for the dataset and the next one was not queued yet."""
    entry = ((document.get("datasets") or {}).get(task.dataname) or {}).get("stages") or {}
    return (task.next_stage is not None
            and contract.stage_status(document, task.dataname, task.stage) == contract.SUCCESS
            and contract.stage_status(document, task.dataname, task.next_stage) == contract.QUEUED
            and not (entry.get(task.next_stage) or {}).get(HANDED_OFF)
            and not contract.is_final(document, task.dataname))


def send(ctx, task, known: status_store.Snapshot | None = None, **fields) -> None:
    """Queue the dataset for the next stage (raises when SQS refuses it), record it in the next
    stage's entry, then ask for capacity."""
    url = str(ctx.settings.next_queue_url)
    body = json.dumps(contract.hand_off(task.body(), task.next_stage, task.output_path), sort_keys=True)
    extra = {}
    if url.endswith(".fifo"):
        digest = hashlib.sha256(f"{task.job_id}\n{task.dataname}\n{task.next_stage}".encode()).hexdigest()
        extra = {"MessageGroupId": str(task.affiliate), "MessageDeduplicationId": digest}
    sent = ctx.clients.sqs.send_message(QueueUrl=url, MessageBody=body, **extra)
    decision("handed-on", logging.INFO, next_stage=task.next_stage, inputs=task.output_path, **fields)
    record(ctx.lab_s3(str(task.affiliate)), task, sent.get("MessageId") or "sent", known)
    capacity.request(ctx.clients.autoscaling, ctx.clients.sqs,
                     NextStage(url, ctx.settings.next_group), 1)


def record(s3, task, message_id: str, known: status_store.Snapshot | None) -> None:
    """Record the hand-off in the next stage's entry: QUEUED, or beside its RUNNING when the next
    stage's worker took the message before this record was written."""
    next_task = replace(task, stage=task.next_stage, next_stage=None)
    written = status_store.update(s3, next_task, {"status": contract.QUEUED, HANDED_OFF: message_id}, known)
    if not written.changed and contract.stage_status(written.snapshot.document, task.dataname,
                                                     task.next_stage) == contract.RUNNING:
        status_store.update(s3, next_task, {"status": contract.RUNNING, HANDED_OFF: message_id}, written.snapshot)


def hand_on(ctx, delivery, task, document: dict, known=None, **fields) -> None:
    """Send the hand-off if it is pending; if that fails on the last allowed receive, queue this
    stage's message again as a new one first, then raise."""
    from . import queue

    if not pending(task, document):
        return
    try:
        send(ctx, task, known, **fields)
    except Exception:
        if ctx.last_attempt(delivery.receive_count):
            queue.requeue(ctx.clients.sqs, ctx.settings.queue_url, delivery,
                          task.affiliate if ctx.fifo else None, **fields)
            decision("hand-off-requeued", logging.WARNING, **fields)
        raise
