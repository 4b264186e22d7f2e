"""One message, in order: check it; with the heartbeat on, read the status (a dataset already
SUCCESS or FAILED is acknowledged without running) and set RUNNING, while the inputs download and
the job's own credentials are assumed alongside (both cancelled if the job does not run); run; upload
the outputs and the log; set SUCCESS; only then delete the message, in the background
(background.py) while the slot polls again. Everything in S3 is done with the lab's job role
(credentials.py), never with the instance role.

A failed attempt (non-zero exit, timeout, a transfer error) makes the message visible again for a
retry (after a short backoff); on the queue's last allowed receive it sets FAILED with the reason
and makes the message visible at once, so that the next receive moves it to the dead-letter queue.
An interrupted attempt (the agent was stopped, or its instance is going away) is queued again as a
new message, so that it does not count toward the queue's limit of receives, and status.json counts
the interruptions. A bad message never runs: FAILED where its status key is safe to write, visible
again at once."""
from __future__ import annotations

import logging
import time
from dataclasses import replace

from ..lambda_repo.ncap_lambda import capacity, contract
from . import background, handoff, ledger, queue, status_store, workspace
from .attempt import Attempt, execute, log_key
from .aws import describe
from .handoff import NextStage
from .heartbeat import Heartbeat
from .log import decision
from .messages import BadMessage, Task, parse
from .notify import publish
from .storage import Uploaded


def handle(ctx, delivery) -> str:
    """Process one delivery; returns the outcome. Never raises."""
    started = time.monotonic()
    try:
        task = replace(parse(delivery.body, ctx.settings.bucket, ctx.settings.stage),
                       next_stage=ctx.settings.next_stage)
    except BadMessage as bad:
        return reject(ctx, delivery, bad)
    fields = {"job_id": task.job_id, "affiliate": task.affiliate, "dataset": task.dataname,
              "attempt": delivery.receive_count, "message_id": delivery.message_id,
              **({"stage": task.stage} if task.stage else {})}
    beat = Heartbeat(ctx.clients.sqs, ctx.settings.queue_url, delivery, ctx.settings.heartbeat, **fields)
    with beat:
        try:
            return work(ctx, delivery, task, beat, started, fields)
        except Exception as error:
            beat.stop()
            return give_back(ctx, delivery, task, error, started, fields)


def work(ctx, delivery, task: Task, beat, started: float, fields: dict) -> str:
    s3 = ctx.lab_s3(task.affiliate)
    space = workspace.create(ctx.workdir, ctx.settings.log_name, ctx.settings.run_as)
    fetching = workspace.Fetch(s3, task, space)  # alongside the status read and write
    credentials = workspace.Assume(ctx.roles, task)  # likewise
    try:
        begun = begin(ctx, s3, delivery, task)
        if not begun.changed:
            fetching.cancel()
            return acknowledge(ctx, delivery, task, beat, begun.snapshot, started, fields)
        decision("running", logging.INFO, **fields)
        several = len(begun.snapshot.document.get("datasets") or {}) > 1
        key = log_key(task, ctx.settings, several)
        result = execute(ctx, s3, task, space, key, fetching, credentials)
    finally:
        fetching.cancel()
        workspace.remove(space)
    ledger.record(ctx, task, delivery, time.monotonic() - started)
    ending = succeed if result.ok else cancelled if result.cancelled else fail
    return ending(ctx, s3, delivery, task, beat, result, key, begun.snapshot, started, fields)


def begin(ctx, s3, delivery, task: Task) -> status_store.Written:
    """Set the dataset RUNNING; not changed when it is final already (SUCCESS, FAILED or
    CANCELLED), or when its lab asked to cancel the job (it is then CANCELLED without running)."""
    current = status_store.read(s3, task)
    if contract.is_final(current.document, task.dataname, task.stage):
        return status_store.Written(current, False, current.document.get("status"))
    if contract.cancel_requested(current.document):
        written = status_store.update(s3, task, {"status": contract.CANCELLED, "reason": "cancelled before it ran",
                                                 "finished": contract.now()}, current)
        notify_if_ended(ctx, task, written, None)
        return status_store.Written(written.snapshot, False, written.before)
    return status_store.update(s3, task, {
        "status": contract.RUNNING, "attempt": delivery.receive_count, "worker": ctx.worker,
        "started": contract.now(), **where_it_runs(ctx)}, current)


def where_it_runs(ctx) -> dict:
    """Where this attempt runs, for the status: Spot or on-demand capacity, and the instance type."""
    instance = ctx.instance
    if instance is None:
        return {}
    found = {"capacity": "spot" if instance.spot_zone else "on-demand"}
    if instance.instance_type:
        found["instance_type"] = instance.instance_type
    return found


def acknowledge(ctx, delivery, task, beat, snapshot, started: float, fields: dict) -> str:
    """The dataset is final already (a redelivery): delete the message without running, after
    handing the dataset on if a worker stopped before it could."""
    beat.stop()
    handoff.hand_on(ctx, delivery, task, snapshot.document, snapshot, **fields)
    queue.delete(ctx.clients.sqs, ctx.settings.queue_url, delivery, **fields)
    state = contract.dataset_status(snapshot.document, task.dataname)
    return done(fields, "already-final", started, status=state)


def succeed(ctx, s3, delivery, task, beat, result: Attempt, key, known, started, fields) -> str:
    uploaded = result.uploaded or Uploaded()
    written = status_store.update(s3, task, {
        "status": contract.SUCCESS, "attempt": delivery.receive_count, "log_key": key,
        "finished": contract.now(), "outputs": uploaded.files, "reason": None}, known)
    beat.stop()
    background.submit("deletions", finish, ctx, delivery, task, written, fields)
    return done(fields, "success" if written.changed else "already-final", started,
                command_seconds=result.command_seconds, stored=uploaded.stored,
                skipped=uploaded.skipped, replaced=uploaded.replaced)


def finish(ctx, delivery, task, written, fields: dict) -> None:
    """After SUCCESS is stored: hand the dataset on to the next stage, if any; delete the message,
    then hand the lab's notice on. A hand-off or deletion that fails leaves the message to come
    back; the job is then acknowledged without running (and handed on)."""
    step = "hand-off"
    try:
        handoff.hand_on(ctx, delivery, task, written.snapshot.document, written.snapshot, **fields)
        step = "delete"
        queue.delete(ctx.clients.sqs, ctx.settings.queue_url, delivery, **fields)
    except Exception as error:
        decision("error", logging.ERROR, error=describe(error), step=step, **fields)
    background.submit("notices", notify_if_ended, ctx, task, written, None)


def cancelled(ctx, s3, delivery, task, beat, result: Attempt, key, known, started, fields) -> str:
    """Its lab cancelled the job while this dataset ran: CANCELLED, what it wrote so far kept and
    marked partial; the message is deleted (nothing of the job runs again)."""
    uploaded = result.uploaded or Uploaded()
    written = status_store.update(s3, task, {
        "status": contract.CANCELLED, "attempt": delivery.receive_count, "log_key": key, "partial": True,
        "finished": contract.now(), "outputs": uploaded.files, "reason": result.reason}, known)
    beat.stop()
    queue.delete(ctx.clients.sqs, ctx.settings.queue_url, delivery, **fields)
    notify_if_ended(ctx, task, written, result.reason)
    return done(fields, "cancelled", started, command_seconds=result.command_seconds, stored=uploaded.stored)


def fail(ctx, s3, delivery, task, beat, result: Attempt, key, known, started, fields) -> str:
    if result.interrupted:
        return requeue(ctx, s3, delivery, task, beat, result, key, known, started, fields)
    last = ctx.last_attempt(delivery.receive_count)
    if last:
        written = status_store.update(s3, task, {
            "status": contract.FAILED, "attempt": delivery.receive_count, "log_key": key,
            "finished": contract.now(), "reason": result.detail}, known)
        notify_if_ended(ctx, task, written, result.reason)
        return release(ctx, delivery, beat, 0, fields, "failed", started, result)
    status_store.update(s3, task, {
        "status": contract.RUNNING, "attempt": delivery.receive_count, "log_key": key,
        "last_error": result.reason}, known)
    delay = ctx.retry_delay(delivery.receive_count)
    return release(ctx, delivery, beat, delay, fields, "retry", started, result, retry_in=delay)


def requeue(ctx, s3, delivery, task, beat, result: Attempt, key, known, started, fields) -> str:
    """An interrupted attempt: counted in status.json, then queued again as a new message (its
    receives start from one) and only then the old one deleted."""
    entry = (known.document.get("datasets") or {}).get(task.dataname) if known else None
    if task.stage and isinstance(entry, dict):
        entry = (entry.get("stages") or {}).get(task.stage)
    count = int((entry or {}).get("interruptions") or 0) + 1
    s = ctx.settings
    on_demand = s.on_demand_queue_url is not None and count >= s.max_interruptions
    where = "for on-demand capacity" if on_demand else "again"
    status_store.update(s3, task, {
        "status": contract.RUNNING, "log_key": key, "interruptions": count,
        "last_error": f"interrupted: {result.reason}; queued {where}"}, known)
    beat.stop()
    target = s.on_demand_queue_url if on_demand and s.on_demand_queue_url else s.queue_url
    queue.requeue(ctx.clients.sqs, s.queue_url, delivery, task.affiliate if ctx.fifo else None, target=target,
                  **fields)
    if on_demand and s.on_demand_group:  # as the submit function asks for the Spot group's
        capacity.request(ctx.clients.autoscaling, ctx.clients.sqs, NextStage(target, s.on_demand_group), 1)
    return done(fields, "requeued-on-demand" if on_demand else "requeued", started, logging.WARNING,
                reason=result.reason, command_seconds=result.command_seconds, interruptions=count)


def release(ctx, delivery, beat, seconds, fields, outcome, started, result, **extra) -> str:
    """Stop the heartbeat, then make the message visible in `seconds`."""
    beat.stop()
    queue.set_visibility(ctx.clients.sqs, ctx.settings.queue_url, delivery, seconds, **fields)
    return done(fields, outcome, started, logging.WARNING, reason=result.reason,
                command_seconds=result.command_seconds, max_receives=ctx.max_receives, **extra)


def reject(ctx, delivery, bad: BadMessage) -> str:
    """A bad message: FAILED where its status key is safe, then visible again (the redrive
    policy moves it to the dead-letter queue after maxReceiveCount receives)."""
    fields = {"job_id": bad.job_id, "affiliate": bad.affiliate, "dataset": bad.dataset,
              "attempt": delivery.receive_count, "message_id": delivery.message_id}
    marked = mark_bad(ctx, bad, fields) if bad.status_key else False
    delay = 0 if ctx.max_receives is not None else ctx.retry_delay(delivery.receive_count)
    try:
        queue.set_visibility(ctx.clients.sqs, ctx.settings.queue_url, delivery, delay, **fields)
    except Exception as error:
        decision("error", logging.ERROR, error=describe(error), **fields)
    decision("bad-message", logging.WARNING, reason=bad.reason, status_marked=marked,
             retry_in=delay, **fields)
    return "bad-message"


def mark_bad(ctx, bad: BadMessage, fields: dict) -> bool:
    task = Task(bucket=ctx.settings.bucket, affiliate=bad.affiliate, job_id=bad.job_id,
                submit_key=None, dataname=bad.dataset, datanames=(), configname=None,
                resultpath=None, status_key=str(bad.status_key))
    try:
        return status_store.update(ctx.lab_s3(str(bad.affiliate)), task, {
            "status": contract.FAILED, "reason": f"bad message: {bad.reason}",
            "finished": contract.now()}).changed
    except Exception as error:
        decision("error", logging.ERROR, error=describe(error), step="mark-bad", **fields)
        return False


def give_back(ctx, delivery, task: Task, error: Exception, started: float, fields: dict) -> str:
    """The agent itself failed (e.g. S3 refused a status write even after botocore's retries):
    on the last allowed receive, try to say FAILED; return the message after the retry delay."""
    reason = f"the worker failed: {describe(error)}"
    decision("error", logging.ERROR, error=describe(error), **fields)
    last = ctx.last_attempt(delivery.receive_count)
    delay = 0 if last else ctx.retry_delay(delivery.receive_count)
    try:
        if last:
            status_store.update(ctx.lab_s3(task.affiliate), task, {
                "status": contract.FAILED, "reason": reason, "attempt": delivery.receive_count})
        queue.set_visibility(ctx.clients.sqs, ctx.settings.queue_url, delivery, delay, **fields)
    except Exception as again:
        decision("error", logging.ERROR, error=describe(again), step="give-back", **fields)
    return done(fields, "error", started, logging.WARNING, reason=reason, retry_in=delay)


def notify_if_ended(ctx, task, written, reason) -> None:
    """One notice per job: when this write moved the job's status to SUCCESS, FAILED or CANCELLED."""
    now = written.snapshot.document.get("status")
    if written.changed and now in contract.FINAL and now != written.before:
        publish(ctx.clients.sns, ctx.settings.topic_arn, task, now, reason)


def done(fields: dict, outcome: str, started: float, level=logging.INFO, **extra) -> str:
    decision("job", level, outcome=outcome, seconds=round(time.monotonic() - started, 4),
             **fields, **extra)
    return outcome
