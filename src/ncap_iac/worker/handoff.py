"""A stage that succeeds hands the dataset on: one message on the next stage's queue, its input
the folder this stage stored its outputs in, and a request to the next stage's group for
capacity (as the submit function makes for the first stage). Sent after SUCCESS is stored and
before this stage's message is deleted: a worker killed in between leaves the message to come
back, and its redelivery (the stage already SUCCESS, the next still QUEUED) sends it again."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from ..lambda_repo.ncap_lambda import capacity, contract
from .log import decision


@dataclass(frozen=True)
class NextStage:
    """What capacity.request needs to know of the next stage."""
    queue_url: str
    worker_group: str | None


def pending(task, document: dict) -> bool:
    """True when this stage is done for the dataset and the next one has not begun."""
    return (task.next_stage is not None
            and contract.stage_status(document, task.dataname, task.stage) == contract.SUCCESS
            and contract.stage_status(document, task.dataname, task.next_stage) == contract.QUEUED
            and not contract.is_final(document, task.dataname))


def send(ctx, task, **fields) -> None:
    """Queue the dataset for the next stage (raises when SQS refuses it), then ask for capacity."""
    url = str(ctx.settings.next_queue_url)
    body = json.dumps(contract.hand_off(task.body(), task.next_stage, task.output_path), sort_keys=True)
    extra = {}
    if url.endswith(".fifo"):
        digest = hashlib.sha256(f"{task.job_id}\n{task.dataname}\n{task.next_stage}".encode()).hexdigest()
        extra = {"MessageGroupId": str(task.affiliate), "MessageDeduplicationId": digest}
    ctx.clients.sqs.send_message(QueueUrl=url, MessageBody=body, **extra)
    decision("handed-on", logging.INFO, next_stage=task.next_stage, inputs=task.output_path, **fields)
    capacity.request(ctx.clients.autoscaling, ctx.clients.sqs,
                     NextStage(url, ctx.settings.next_group), 1)
