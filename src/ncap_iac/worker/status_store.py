"""status.json in S3, changed by read-modify-write with conditional writes: read it (ETag), apply
a transition (contract.apply), put it with If-Match; when someone wrote in between (412), read again
and retry. A missing status.json is created with If-None-Match: *."""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

from ..lambda_repo.ncap_lambda import contract
from ..lambda_repo.ncap_lambda.contract import CONFLICT, MISSING, PRECONDITION, is_error
from .log import decision

ATTEMPTS = 12


class StatusConflict(RuntimeError):
    """status.json kept changing under every attempt to write it."""


@dataclass(frozen=True)
class Snapshot:
    document: dict
    etag: str | None  # None: no status.json yet


@dataclass(frozen=True)
class Written:
    snapshot: Snapshot  # what the status is now, as far as this worker knows
    changed: bool  # False: the transition was refused (the dataset is final)
    before: str | None  # the job's status before the change


def read(s3, task) -> Snapshot:
    try:
        reply = s3.get_object(Bucket=task.bucket, Key=task.status_key)
    except Exception as error:
        if is_error(error, *MISSING):
            decision("status-missing", logging.WARNING, job_id=task.job_id, affiliate=task.affiliate)
            return Snapshot(fresh_document(task), None)
        raise
    with reply["Body"] as body:
        return Snapshot(contract.decoded(body.read()), reply["ETag"])


def fresh_document(task) -> dict:
    """A status for a job whose status.json is missing (the submit function writes it first, so
    this is a repair): the fields the message knows."""
    return {"affiliate": task.affiliate, "configname": task.configname, "datasets": {},
            "job_id": task.job_id, "queued": True, "reason": None, "status": contract.QUEUED,
            "submit_key": task.submit_key, "updated": contract.now()}


def put(s3, task, document: dict, etag: str | None) -> str | None:
    """Write if the object still has `etag` (or still does not exist): its new ETag, else None."""
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    try:
        return s3.put_object(Bucket=task.bucket, Key=task.status_key, Body=contract.encoded(document),
                             ContentType="application/json", **condition)["ETag"]
    except Exception as error:
        if is_error(error, *PRECONDITION, *CONFLICT):
            return None
        raise


def update(s3, task, fields: dict, known: Snapshot | None = None) -> Written:
    """Apply `fields` to this task's dataset. `known` (a snapshot this worker wrote itself) saves
    a read; if it is stale the conditional write fails and the loop reads."""
    for attempt in range(ATTEMPTS):
        current = known or read(s3, task)
        known = None
        before = current.document.get("status")
        new = contract.apply(current.document, task.dataname, fields, task.resultpath,
                             stage=task.stage, next_stage=task.next_stage)
        if new is None:
            return Written(current, False, before)
        etag = put(s3, task, new, current.etag)
        if etag:
            return Written(Snapshot(new, etag), True, before)
        time.sleep(random.uniform(0, 0.02 * (attempt + 1)))
    raise StatusConflict(f"status of job {task.job_id} kept changing; gave up after {ATTEMPTS} tries")
