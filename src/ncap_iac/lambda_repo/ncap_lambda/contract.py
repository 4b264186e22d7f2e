"""The job contract between the submit function, the worker agent and the local cloud: where a
job's files live, the status words and their order, status.json and how changes merge into it,
the queue message, the lab's notice, and the AWS error codes each side reacts to (the ledger of
what finished jobs cost is ledger.py).

Standard library only, and no import of the package around it: the Lambda code (its own import
root after `sam build`) and the worker (`ncap_iac.lambda_repo.ncap_lambda.contract`) both load it.

A dataset moves QUEUED < RUNNING < SUCCESS | FAILED | CANCELLED and never back; those three are
final (a later change to a final dataset is refused). RUNNING -> RUNNING is allowed (a new attempt,
or a retry's last_error). A job's own "status" and "reason" are derived from its datasets: any
FAILED -> FAILED, all SUCCESS -> SUCCESS, all final with any CANCELLED -> CANCELLED, any RUNNING or
SUCCESS or CANCELLED -> RUNNING, else QUEUED. REJECTED is a whole job's status, set by the submit
function only: nothing of it runs.

Cancelling: a lab member's cancel request (cancel.json in the lab's submissions folder) makes the
submit function set `cancel_requested` on the job and every dataset not yet running CANCELLED; a
worker whose dataset is running stops it and sets it CANCELLED (`partial`: what it wrote so far is
kept); a worker never starts a dataset of a job whose cancel was requested. Fields a writer does not
own (submit_key, submit_etag, queued, ...) are kept as they are.

A pipeline of stages runs each dataset through them in order. Each dataset's entry then has
`stages: {NAME: {status, updated, reason, ...}}`, each stage moving as a dataset does; the
dataset is FAILED as soon as a stage fails ("stage NAME: reason"), SUCCESS when the last stage
succeeds, else RUNNING once any stage began. A stage that succeeds queues the next in the same
write. The job's `stages` sums each stage over the datasets as the job's status sums them."""
import copy
import json
from datetime import datetime, timezone

QUEUED, RUNNING, SUCCESS, FAILED, REJECTED = "QUEUED", "RUNNING", "SUCCESS", "FAILED", "REJECTED"
CANCELLED = "CANCELLED"
RANK = {QUEUED: 0, RUNNING: 1, SUCCESS: 2, FAILED: 2, CANCELLED: 2}
FINAL = (SUCCESS, FAILED, CANCELLED)  # a dataset that ended
ENDED = (SUCCESS, FAILED, CANCELLED, REJECTED)  # a job that ended
CANCEL_REQUESTED = "cancel_requested"  # the job's field: {"at": time, "key": the request's key}
CANCEL_SUFFIX = "cancel.json"  # a cancel request: LAB/<submissions>/...cancel.json holding {"job_id": ID}

MESSAGE_VERSION = 1
MESSAGE_FIELDS = ("bucket", "affiliate", "job_id", "dataname", "resultpath", "status_key")
SUBJECT_LIMIT = 99  # SNS subjects must be shorter than 100 characters
NOTICE_ATTRIBUTE = "affiliate"  # the SNS message attribute each lab's subscription filters on

# AWS error codes (or HTTP statuses, when an error carries no code)
MISSING = ("404", "NoSuchKey", "NotFound")
PRECONDITION = ("PreconditionFailed", "412")
CONFLICT = ("ConditionalRequestConflict", "409")
RECEIPT_GONE = ("ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight",
                "AWS.SimpleQueueService.NonExistentQueue")
RETRYABLE = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown",
    "InternalError", "InternalFailure", "ServiceUnavailable", "RequestTimeout",
    "RequestTimeoutException", "PriorRequestNotComplete", "ConditionalRequestConflict",
    "AWS.SimpleQueueService.ServiceUnavailable"})


# --- where a job's files live ---------------------------------------------------------------

def job_prefix(affiliate, results, job_id):
    """`LAB/<results>/job_<id>/`: everything of one job."""
    return f"{affiliate}/{results}/job_{job_id}/"


def status_key(prefix):
    return prefix + "logs/status.json"


def certificate_key(prefix):
    return prefix + "logs/certificate.txt"


def results_path(prefix):
    return prefix + "process_results/"


def stage_path(resultpath, stage):
    """Where a stage that is not the last stores a dataset's outputs: its resultpath with
    `process_results/` replaced by `stages/<stage>/` (`LAB/results/job_ID/stages/NAME/...`)."""
    head, found, tail = resultpath.partition("/process_results/")
    return f"{head}/stages/{stage}/{tail}" if found else f"{resultpath}stages/{stage}/"


def job_log_key(affiliate, logs, job_id, log_name):
    """`LAB/<logs>/job_<id>/<log name>`: the job's log, in the lab's logs folder (which the job's
    own credentials cannot write)."""
    return f"{affiliate}/{logs}/job_{job_id}/{log_name}"


# --- status.json ----------------------------------------------------------------------------

def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def encoded(document):
    """status.json's bytes: sorted, indented JSON; text that UTF-8 cannot hold is escaped."""
    text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    return text.encode("utf-8", "backslashreplace")


def decoded(raw):
    """The document in status.json's bytes; {} when they are not a JSON object."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except ValueError:
        document = None
    return document if isinstance(document, dict) else {}


def new_document(job, status, reason, datasets, queued, updated, stages=()):
    """The status.json the submit function creates for a job (`job` has submit_key, job_id,
    affiliate, configname and submit_etag); `datasets` maps each dataname to its resultpath;
    `stages`, the pipeline's stage names in order (none: one stage)."""
    entries = {name: {"status": QUEUED, "resultpath": path} for name, path in datasets.items()}
    if stages:
        for entry in entries.values():
            entry["stages"] = {stage: {"status": QUEUED} for stage in stages}
    document = {"status": status, "reason": reason, "submit_key": job.submit_key,
                "job_id": job.job_id, "affiliate": job.affiliate, "configname": job.configname,
                "datasets": entries, "submit_etag": job.submit_etag, "queued": queued, "updated": updated}
    if getattr(job, "versions", ()):
        document["versions"] = dict(job.versions)  # what the job runs with: each key's pinned version
    if getattr(job, "submit_version", None):
        document["submit_version"] = job.submit_version
    if stages:
        document["stages"] = stage_summary(entries, stages)
    return document


def dataset_status(document, dataname):
    entry = (document.get("datasets") or {}).get(dataname)
    status = entry.get("status") if isinstance(entry, dict) else None
    return status if status in RANK else QUEUED


def stage_status(document, dataname, stage):
    entry = (document.get("datasets") or {}).get(dataname)
    stages = entry.get("stages") if isinstance(entry, dict) else None
    found = stages.get(stage) if isinstance(stages, dict) else None
    status = found.get("status") if isinstance(found, dict) else None
    return status if status in RANK else QUEUED


def is_final(document, dataname, stage=None):
    """True when this dataset (at `stage`, when given) must not run again: it ended, or the whole
    job was rejected."""
    if document.get("status") == REJECTED or dataset_status(document, dataname) in FINAL:
        return True
    return stage is not None and stage_status(document, dataname, stage) in FINAL


def allowed(document, dataname, status, stage=None):
    if is_final(document, dataname, stage):
        return False
    current = stage_status(document, dataname, stage) if stage else dataset_status(document, dataname)
    return RANK[status] >= RANK[current]


def apply(document, dataname, fields, resultpath=None, updated=None, stage=None, next_stage=None):
    """The document with `fields` (which hold "status") merged into the dataset's entry (or into
    its entry of `stage`, followed by `next_stage` unless it is the last) and the job's status
    derived again; None when the change is not allowed."""
    if not allowed(document, dataname, fields["status"], stage):
        return None
    new = copy.deepcopy(document)
    when = updated or now()
    datasets = new["datasets"] = dict(new.get("datasets") or {})
    entry = dict(datasets.get(dataname) or {})
    if resultpath and "resultpath" not in entry:
        entry["resultpath"] = resultpath
    if stage is None:
        entry.update(fields)
    else:
        entry.update(_staged(entry, fields, stage, next_stage, when, list(new.get("stages") or {})))
    datasets[dataname] = entry
    new["status"], new["reason"] = job_status(datasets)
    if stage is not None or "stages" in new:
        new["stages"] = stage_summary(datasets, list(new.get("stages") or {}) + [stage, next_stage])
    new["updated"] = when
    return new


def _staged(entry, fields, stage, next_stage, when, later=()):
    """The dataset's fields after `fields` happened at `stage`."""
    stages = {name: dict(value) for name, value in (entry.get("stages") or {}).items() if isinstance(value, dict)}
    stages[stage] = {**stages.get(stage, {}), **fields, "updated": when}
    status = fields["status"]
    out = {"stages": stages, "stage": stage}
    if status == FAILED:
        out.update(status=FAILED, reason=f"stage {stage}: {fields.get('reason') or 'failed'}",
                   finished=fields.get("finished") or when)
    elif status == CANCELLED:  # every stage not ended is cancelled with it, the ones not entered too
        for name in list(dict.fromkeys([*stages, *later])):
            value = stages.get(name, {})
            if value.get("status") not in FINAL:
                stages[name] = {**value, "status": CANCELLED, "updated": when}
        out.update({key: value for key, value in fields.items() if key != "status"}, status=CANCELLED)
    elif status == SUCCESS and next_stage is None:
        out.update({key: value for key, value in fields.items() if key != "status"}, status=SUCCESS)
    else:
        out["status"] = RUNNING
        if status == SUCCESS:
            stages[next_stage] = {**stages.get(next_stage, {}), "status": QUEUED, "updated": when}
            out["stage"] = next_stage
    return out


def stage_summary(datasets, order):
    """The job's `stages`: each stage's status over the datasets, the time it last changed, and
    the reason of a failure."""
    named = [name for name in dict.fromkeys(order) if name]
    for entry in datasets.values():
        named += [name for name in ((entry or {}).get("stages") or {}) if name not in named]
    summary = {}
    for name in named:
        at = {data: ((entry or {}).get("stages") or {}).get(name) or {} for data, entry in datasets.items()}
        status, reason = job_status(at)
        times = [value["updated"] for value in at.values() if isinstance(value.get("updated"), str)]
        summary[name] = {"status": status, "updated": max(times) if times else None, "reason": reason}
    return summary


def job_status(datasets):
    """(status, reason) of a job made of `datasets`."""
    states = {name: (entry or {}).get("status", QUEUED) for name, entry in datasets.items()}
    failed = sorted(name for name, state in states.items() if state == FAILED)
    if failed:
        reason = (datasets[failed[0]] or {}).get("reason") or "failed"
        return FAILED, reason if len(datasets) == 1 else f"dataset {failed[0]}: {reason}"
    if states and all(state == SUCCESS for state in states.values()):
        return SUCCESS, None
    if states and all(state in FINAL for state in states.values()):
        return CANCELLED, "cancelled by a member of the lab"
    if any(state in (RUNNING, SUCCESS, CANCELLED) for state in states.values()):
        return RUNNING, None
    return QUEUED, None


def cancel_requested(document):
    """True when a member of the job's lab asked to cancel it."""
    return isinstance(document.get(CANCEL_REQUESTED), dict)


def has_ended(document):
    """True when nothing of the job runs or waits any more: REJECTED, or every dataset final (a job
    FAILED by one dataset may still have others queued or running)."""
    if document.get("status") == REJECTED:
        return True
    datasets = list((document.get("datasets") or {}).values())
    if not datasets:
        return document.get("status") in ENDED
    return all(isinstance(entry, dict) and entry.get("status") in FINAL for entry in datasets)


def _entry(entries, name):
    value = entries.get(name)
    return value if isinstance(value, dict) else {}


def with_cancel(document, request_key, when=None):
    """The document of a job whose cancel was asked for by `request_key`: the request noted, and
    every dataset not yet running (and each of its stages, entered or not) CANCELLED; running ones
    are left to their workers, which stop them. None when the job has ended (nothing to cancel)."""
    if has_ended(document):
        return None
    new = copy.deepcopy(document)
    when = when or now()
    new.setdefault(CANCEL_REQUESTED, {"at": when, "key": request_key})
    datasets = new["datasets"] = dict(new.get("datasets") or {})
    for name, entry in datasets.items():
        entry = dict(entry or {})
        if entry.get("status", QUEUED) != QUEUED:
            continue
        known = entry.get("stages") or {}
        names = list(dict.fromkeys([*(document.get("stages") or {}), *known]))
        stages = {stage: {**_entry(known, stage), "status": CANCELLED, "updated": when} for stage in names}
        entry.update(status=CANCELLED, reason="cancelled before it ran", finished=when, **(
            {"stages": stages} if stages else {}))
        datasets[name] = entry
    new["status"], new["reason"] = job_status(datasets)
    if "stages" in new:
        new["stages"] = stage_summary(datasets, list(new.get("stages") or {}))
    new["updated"] = when
    return new


# --- the queue message ----------------------------------------------------------------------

def message(job, dataname, datanames, resultpath, stage=None):
    """One job message: one dataset (with every file it needs) of `job` (which has bucket,
    affiliate, job_id, submit_key, configname and status_key), for the first stage when the
    pipeline has stages."""
    body = {"version": MESSAGE_VERSION, "bucket": job.bucket, "affiliate": job.affiliate,
            "job_id": job.job_id, "submit_key": job.submit_key, "dataname": dataname,
            "datanames": list(datanames), "configname": job.configname, "resultpath": resultpath,
            "status_key": job.status_key}
    pinned = dict(getattr(job, "versions", ()))
    versions = {key: pinned[key] for key in [*datanames, job.configname] if key in pinned}
    if versions:
        body["versions"] = versions  # the worker downloads exactly these
    if stage:
        body["stage"] = stage
    return body


def hand_off(body, next_stage, input_prefix):
    """The message that takes a dataset on to `next_stage`: the same job and dataset, its inputs
    the objects under `input_prefix` (where the previous stage stored its outputs)."""
    return {**body, "stage": next_stage, "input_prefix": input_prefix}


# --- the lab's notice -----------------------------------------------------------------------

def notice(job_id, affiliate, status, reason, links):
    """(subject, message) of the SNS notice to a lab; `links` is [(label, "s3://...")]."""
    subject = f"NCAP job {job_id} {status}"[:SUBJECT_LIMIT]
    lines = [f"Job {job_id} of lab {affiliate}: {status}", f"reason: {reason or '-'}"]
    lines += [f"{label}: {uri}" for label, uri in links]
    return subject, "\n".join(lines)


def notice_attributes(affiliate):
    return {NOTICE_ATTRIBUTE: {"DataType": "String", "StringValue": affiliate}}


# --- AWS errors -----------------------------------------------------------------------------

def error_code(error):
    """The AWS error code of a botocore ClientError, else its HTTP status ("" for anything else)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    code = str((response.get("Error") or {}).get("Code", ""))
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return code or (str(status) if status else "")


def is_error(error, *codes):
    """True when `error` is an AWS error with one of `codes`."""
    return error_code(error) in codes


def http_status(error):
    response = getattr(error, "response", None)
    return int(((response or {}).get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0) \
        if isinstance(response, dict) else 0


# --- post-processing runs -------------------------------------------------------------------
# status.json's "post": trigger key -> the post-processing function's run for that object:
# {status RUNNING|SUCCESS|FAILED, event (the S3 event's sequencer, else the object's ETag),
# started, deadline, finished, error}. The wrapper claims a run by writing RUNNING with If-Match;
# a delivery whose event is already recorded skips, unless that run died (RUNNING past deadline).
POST_FIELD = "post"


def post_run(document, key):
    """The recorded run for trigger `key` ({} when none)."""
    runs = document.get(POST_FIELD)
    entry = runs.get(key) if isinstance(runs, dict) else None
    return dict(entry) if isinstance(entry, dict) else {}


def with_post_run(document, key, fields, updated=None):
    """The document with `fields` merged into the run of trigger `key` (other fields kept)."""
    new = copy.deepcopy(document)
    runs = new[POST_FIELD] = dict(new.get(POST_FIELD) if isinstance(new.get(POST_FIELD), dict) else {})
    runs[key] = {**post_run(document, key), **fields}
    new["updated"] = updated or now()
    return new
