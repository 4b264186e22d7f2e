"""The post-processing wrapper: runs the pipeline developer's own function (POST_HANDLER,
module.function in this folder) once per job result whose key ends in POST_TRIGGER.

For each S3 record under `LAB/<results>/job_<id>/...` of a configured lab (its results folder
marker exists): claim the run in the job's status.json ("post": {<key>: {...}}, a conditional
write, so that S3 delivering one event twice runs the function once), call the developer's handler
with an event of that one record, then record SUCCESS, or FAILED with the error's text (a failing
function is recorded, never retried). Keys outside a configured lab's results, or not in a job
folder, are ignored with one log line.

AWS errors while claiming or recording raise (logged first), so that Lambda retries; the claim
makes the retry safe. Returns {"ran": [keys], "failed": [keys], "duplicates": [keys],
"ignored": [keys]}.

Permissions used: s3:GetObject and s3:PutObject on each configured lab's results folder."""
import importlib
import logging
import os
import time
import urllib.parse
from dataclasses import dataclass

import boto3

from ncap_lambda import job_store
from ncap_lambda.aws_errors import RetryLater, error_code, is_error
from ncap_lambda.contract import FAILED, MISSING, RUNNING, SUCCESS, job_prefix, now, post_run, status_key, with_post_run
from ncap_lambda.log import get_logger, log_decision

LOG = get_logger("ncap_post")
DENIED = ("AccessDenied", "403")  # without s3:ListBucket a missing object reads as denied
WRITE_ATTEMPTS = 5  # a worker may update status.json at the same moment
ERROR_LIMIT = 1000  # characters of the developer's error kept in status.json
CLIENTS: dict = {}


@dataclass(frozen=True)
class Settings:
    bucket: str
    results: str
    handler: str
    trigger: str


@dataclass(frozen=True)
class JobFiles:
    """What job_store needs of a job: where its status.json is."""
    bucket: str
    affiliate: str
    job_id: str
    status_key: str


def read_settings(environ=os.environ):
    return Settings(environ["BUCKET_NAME"], environ.get("RESULTS_FOLDER", "results"), environ["POST_HANDLER"],
                    environ.get("POST_TRIGGER", "end.txt"))


def s3_client():
    ident = (os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_REGION"), os.environ.get("AWS_ACCESS_KEY_ID"))
    if ident not in CLIENTS:
        CLIENTS[ident] = boto3.client("s3")
    return CLIENTS[ident]


def handler(event, context):
    settings = read_settings()
    s3 = s3_client()
    outcome: dict = {"ran": [], "failed": [], "duplicates": [], "ignored": []}
    for record in (event or {}).get("Records") or []:
        handle_record(s3, settings, record, context, outcome)
    return outcome


def record_location(record):
    """(bucket, decoded key, event id) of an S3 record: the id is S3's sequencer, else the
    version or the ETag."""
    s3 = record.get("s3") if isinstance(record, dict) else None
    s3 = s3 if isinstance(s3, dict) else {}
    found = s3.get("object")
    found = found if isinstance(found, dict) else {}
    key = urllib.parse.unquote_plus(str(found.get("key") or ""))
    event_id = found.get("sequencer") or found.get("versionId") or found.get("eTag") or ""
    return (s3.get("bucket") or {}).get("name"), key, str(event_id)


def job_of(settings, key):
    """The job (JobFiles) whose folder holds `key`, else None."""
    parts = key.split("/")
    if len(parts) < 4 or not parts[0] or parts[1] != settings.results or not parts[2].startswith("job_"):
        return None
    if not parts[2][len("job_"):] or not key.endswith(settings.trigger):
        return None
    job_id = parts[2][len("job_"):]
    return JobFiles(settings.bucket, parts[0], job_id, status_key(job_prefix(parts[0], settings.results, job_id)))


def ignore(outcome, key, why, **fields):
    log_decision(LOG, "ignored", key=key, why=why, **fields)
    outcome["ignored"].append(key)


def handle_record(s3, settings, record, context, outcome):
    bucket, key, event_id = record_location(record)
    job = job_of(settings, key) if bucket == settings.bucket else None
    if job is None:
        return ignore(outcome, key, "not a job result of this pipeline's bucket", bucket=bucket)
    if not readable(s3, bucket, f"{job.affiliate}/{settings.results}/"):
        return ignore(outcome, key, "not in a configured lab's results folder")
    try:
        claimed = claim(s3, job, key, event_id, context)
        if claimed is None:
            return ignore(outcome, key, "the job has no status.json")
        if not claimed:
            log_decision(LOG, "duplicate", key=key, event=event_id)
            outcome["duplicates"].append(key)
            return None
        ok, error = run_developer_handler(settings, record, context)
        record_run(s3, job, key, {"status": SUCCESS if ok else FAILED, "finished": now(), "error": error})
    except Exception as exc:
        log_decision(LOG, "error-retry", logging.ERROR, key=key, error=type(exc).__name__, code=error_code(exc))
        raise
    log_decision(LOG, "ran" if ok else "failed", key=key, job_id=job.job_id, affiliate=job.affiliate)
    outcome["ran" if ok else "failed"].append(key)
    return None


def readable(s3, bucket, key):
    """True when `key` exists and this function may read it."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except Exception as error:
        if is_error(error, *MISSING, *DENIED):
            return False
        raise


def status(s3, job):
    """(document, ETag) of the job's status.json, or None when it is not there."""
    try:
        return job_store.read_status(s3, job)
    except Exception as error:
        if is_error(error, *MISSING, *DENIED):
            return None
        raise


def claim(s3, job, key, event_id, context):
    """True: this delivery runs the function; False: the event's run is recorded already (or runs
    now); None: the job has no status.json."""
    for _ in range(WRITE_ATTEMPTS):
        found = status(s3, job)
        if found is None:
            return None
        document, etag = found
        run = post_run(document, key)
        if run.get("event") == event_id and not _died(run):
            return False
        started, remaining = time.time(), context.get_remaining_time_in_millis() / 1000 if context else 900
        fields = {"status": RUNNING, "event": event_id, "started": now(), "finished": None, "error": None,
                  "deadline": int(started + remaining) + 60}
        if job_store.replace_status(s3, job, with_post_run(document, key, fields), etag):
            return True
    raise RetryLater(f"status.json of job {job.job_id} kept changing")


def _died(run):
    """A run still RUNNING past its deadline: its Lambda ended without recording the outcome."""
    return run.get("status") == RUNNING and isinstance(run.get("deadline"), int) and time.time() > run["deadline"]


def record_run(s3, job, key, fields):
    for _ in range(WRITE_ATTEMPTS):
        document, etag = job_store.read_status(s3, job)
        if job_store.replace_status(s3, job, with_post_run(document, key, fields), etag):
            return
    raise RetryLater(f"status.json of job {job.job_id} kept changing")


def run_developer_handler(settings, record, context):
    """(True, None) when the developer's function returned; (False, its error's text) when it
    could not be loaded or raised. The traceback goes to the log, never into status.json."""
    module, _, function = settings.handler.rpartition(".")
    try:
        getattr(importlib.import_module(module), function)({"Records": [record]}, context)
        return True, None
    except Exception as exc:  # the developer's code: any failure is recorded, not retried
        LOG.exception("post-processing function %s failed", settings.handler)
        return False, f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
