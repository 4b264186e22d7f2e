"""status.json transitions, pure: what a worker may write, given what the document holds now.

A dataset moves QUEUED < RUNNING < SUCCESS | FAILED and never back; SUCCESS and FAILED are final
(a later change to a final dataset is refused). RUNNING -> RUNNING is allowed (a new attempt, or a
retry's last_error). The job's own "status" and "reason" are derived from its datasets: all
SUCCESS -> SUCCESS, any FAILED -> FAILED, any RUNNING -> RUNNING, else QUEUED. Every field the
worker does not own (submit_key, submit_etag, queued, ...) is kept as it is."""
from __future__ import annotations

import copy
from datetime import datetime, timezone

QUEUED, RUNNING, SUCCESS, FAILED, REJECTED = "QUEUED", "RUNNING", "SUCCESS", "FAILED", "REJECTED"
RANK = {QUEUED: 0, RUNNING: 1, SUCCESS: 2, FAILED: 2}
FINAL = (SUCCESS, FAILED)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dataset_status(document: dict, dataname: str) -> str:
    entry = (document.get("datasets") or {}).get(dataname)
    status = entry.get("status") if isinstance(entry, dict) else None
    return status if status in RANK else QUEUED


def is_final(document: dict, dataname: str) -> bool:
    """True when this dataset must not run again: it ended, or the whole job was rejected."""
    return document.get("status") == REJECTED or dataset_status(document, dataname) in FINAL


def allowed(document: dict, dataname: str, status: str) -> bool:
    if is_final(document, dataname):
        return False
    return RANK[status] >= RANK[dataset_status(document, dataname)]


def apply(document: dict, dataname: str, fields: dict, resultpath: str | None = None,
          updated: str | None = None) -> dict | None:
    """The document with `fields` (which hold "status") merged into the dataset's entry and the
    job's status derived again; None when the change is not allowed."""
    if not allowed(document, dataname, fields["status"]):
        return None
    new = copy.deepcopy(document)
    datasets = new["datasets"] = dict(new.get("datasets") or {})
    entry = dict(datasets.get(dataname) or {})
    if resultpath and "resultpath" not in entry:
        entry["resultpath"] = resultpath
    entry.update(fields)
    datasets[dataname] = entry
    new["status"], new["reason"] = job_status(datasets)
    new["updated"] = updated or now()
    return new


def job_status(datasets: dict) -> tuple[str, str | None]:
    """(status, reason) of a job made of `datasets`."""
    states = {name: (entry or {}).get("status", QUEUED) for name, entry in datasets.items()}
    failed = sorted(name for name, state in states.items() if state == FAILED)
    if failed:
        reason = (datasets[failed[0]] or {}).get("reason") or "failed"
        return FAILED, reason if len(datasets) == 1 else f"dataset {failed[0]}: {reason}"
    if states and all(state == SUCCESS for state in states.values()):
        return SUCCESS, None
    if any(state in (RUNNING, SUCCESS) for state in states.values()):
        return RUNNING, None
    return QUEUED, None


def fresh_document(task) -> dict:
    """A status for a job whose status.json is missing (the submit function writes it first, so
    this is a repair): the fields the message knows."""
    return {"affiliate": task.affiliate, "configname": task.configname, "datasets": {},
            "job_id": task.job_id, "queued": True, "reason": None, "status": QUEUED,
            "submit_key": task.submit_key, "updated": now()}
