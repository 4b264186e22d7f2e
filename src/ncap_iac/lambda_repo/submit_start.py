"""The upload trigger: a lab's submit.json (or the last file of a fileset) becomes a queued job.

One bucket-wide upload rule serves every lab: an upload outside a configured lab's submissions/
(or, in fileset mode, inputs/) folder is ignored with one log line, never rejected into anyone's
results. Mode "submit" (S3 ObjectCreated of `LAB/<submissions>/...submit.json`): read and check the
submission (ncap_lambda.submission), derive the job id, create
`LAB/<results>/job_<id>/logs/status.json` (only if absent: the lock that makes a redelivered event
a no-op), write certificate.txt beside it, queue one message per dataset, mark the status
"queued": true, and send the lab an SNS notice. A faulty submission gets status REJECTED with a
reason and nothing is queued; so does one whose estimate (hourly price x expected minutes x datasets)
would take the lab past its monthly budget, given what its finished jobs cost this month (the
ledger, ncap_lambda.budget). After queueing, the function asks the worker group for capacity at once
(ncap_lambda.capacity; a failure there is logged and loses nothing). Mode "fileset" (uploads under
`LAB/<inputs>/` ending in one of FILESET_SUFFIXES): when every file of a stem exists, the same steps
queue one job, once.

A later delivery of the same upload (same key, ETag and version) queues nothing; one that finds the
status but "queued": false (an attempt died before queueing) queues the messages then. The same
submit file uploaded again (same bytes, a new version) is answered: REJECTED under
`<id>-duplicate-<hash>` with a reason naming the job it repeats. Each dataset and the config is
pinned to the object version the submission means (ncap_lambda.pinning): status.json, the
certificate and the messages carry the versions, and the worker downloads exactly those. Another
submission that reuses a job id is rejected under `<id>-rejected-<etag[:8]>`; the first job's
files are not touched.

A cancel request (`LAB/<submissions>/...cancel.json` holding {"job_id": ID}, either mode) cancels the
lab's job: see ncap_lambda.cancel.

Errors in a submission never raise; AWS errors do (logged first), so that Lambda retries.
Returns {"jobs": [...], "rejected": [{"job_id", "reason"}], "duplicates": [...],
"ignored": [keys], "waiting": [keys]}, and for cancel requests "cancelled": [{"job_id", "decision"}].

Permissions used: s3:ListBucket and s3:ListBucketVersions; s3:GetObject and s3:GetObjectVersion on
inputs/configs/submissions/results; s3:GetObject on ledger/;
s3:PutObject on results; sqs:SendMessage and sqs:GetQueueAttributes on the queue; sns:Publish on the
topic; autoscaling:DescribeAutoScalingGroups and autoscaling:SetDesiredCapacity on the group.
"""
import functools
import hashlib
import logging
import os
import urllib.parse
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import boto3
from botocore.config import Config

from ncap_lambda import budget, cancel, capacity, fileset, job_store, pinning, submission
from ncap_lambda.aws_errors import RetryLater, error_code, is_retryable
from ncap_lambda.contract import CANCEL_SUFFIX, CANCELLED, QUEUED, REJECTED
from ncap_lambda.jobs import Job, dataset_units, status_document
from ncap_lambda.log import get_logger, log_decision
from ncap_lambda.settings import read_settings
from ncap_lambda.submission import Rejected, shown

LOG = get_logger("submit_start")
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5,
                       read_timeout=20)
CLIENTS: dict = {}
CLIENT_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_PROFILE",
              "AWS_ACCESS_KEY_ID")
# A status with "queued": false younger than this may belong to an attempt still queueing (S3
# can deliver one event twice at once): raise, so that Lambda retries after about a minute.
IN_FLIGHT_SECONDS = 30
REUSE_HINT = {"submit": "give the submission a new timestamp or file name",
              "fileset": "give the files a new name"}


@dataclass(frozen=True)
class Run:
    settings: object
    s3: object
    sqs: object
    sns: object
    autoscaling: object = None  # None: the function asks no group for capacity


def client(service):
    """One boto3 client per service and environment (region, endpoint, identity), kept while
    the Lambda is warm: making one takes tens of milliseconds."""
    ident = (service, *(os.environ.get(name) for name in CLIENT_ENV))
    if ident not in CLIENTS:
        CLIENTS[ident] = boto3.client(service, config=CLIENT_CONFIG)
    return CLIENTS[ident]


def handler(event, context):
    settings = read_settings()
    run = Run(settings, client("s3"), client("sqs"), client("sns"),
              client("autoscaling") if settings.worker_group else None)
    outcome: dict = {"jobs": [], "rejected": [], "duplicates": [], "ignored": [], "waiting": []}
    for record in (event or {}).get("Records") or []:
        handle_record(run, record, outcome)
    return outcome


def record_location(record):
    """(bucket, decoded key) of an S3 event record; S3 URL-encodes keys, with + for a space."""
    s3 = record.get("s3") if isinstance(record, dict) else None
    s3 = s3 if isinstance(s3, dict) else {}
    bucket = (s3.get("bucket") or {}).get("name")
    return bucket, urllib.parse.unquote_plus(str((s3.get("object") or {}).get("key") or ""))


def handle_record(run, record, outcome):
    bucket, key = record_location(record)
    try:
        if bucket != run.settings.bucket:
            ignore(outcome, key, "not an upload to this pipeline's bucket", bucket=bucket)
        elif key.endswith(CANCEL_SUFFIX):
            handle_cancel(run, key, outcome)
        elif run.settings.mode == "fileset":
            handle_fileset(run, key, outcome)
        else:
            handle_submit(run, key, outcome, record_version(record))
    except Exception as error:
        log_decision(LOG, "error-retry", logging.ERROR, key=key, error=type(error).__name__,
                     code=error_code(error), retryable=is_retryable(error))
        raise


def lab_configured(run, affiliate, folder):
    """True when `affiliate` is a lab of this pipeline: its folder marker (made by the folders
    function for each configured lab, never by a lab user) exists. The bucket-wide upload rule
    also fires for keys outside any configured lab."""
    return job_store.exists(run.s3, run.settings.bucket, f"{affiliate}/{folder}/")


def ignore(outcome, key, why, **fields):
    log_decision(LOG, "ignored", key=key, why=why, **fields)
    outcome["ignored"].append(key)


# --- mode "submit" -------------------------------------------------------------------------

def submit_affiliate(settings, key):
    """The lab of `LAB/<submissions>/...submit.json`, else None."""
    parts = key.split("/")
    if len(parts) < 3 or not parts[0] or parts[1] != settings.submissions:
        return None
    return parts[0] if parts[-1].endswith("submit.json") else None


def record_version(record):
    """The version id an S3 event record names (None without versioning): the upload it is about,
    even when a newer one has come since."""
    version = ((record.get("s3") or {}).get("object") or {}).get("versionId") if isinstance(record, dict) else None
    return version if isinstance(version, str) and version and version != "null" else None


def handle_submit(run, key, outcome, version=None):
    settings = run.settings
    affiliate = submit_affiliate(settings, key)
    if affiliate is None:
        return ignore(outcome, key, f"not a submit.json under LAB/{settings.submissions}/")
    if not lab_configured(run, affiliate, settings.submissions):
        return ignore(outcome, key, "not in a lab of this pipeline", affiliate=affiliate)
    read = job_store.read_object(run.s3, settings.bucket, key, settings.max_submit_bytes, version)
    if read is None and version is not None:  # a version no longer there, or a simulated event's made-up one
        log_decision(LOG, "event-version-not-found", key=key, version=version)
        read = job_store.read_object(run.s3, settings.bucket, key, settings.max_submit_bytes)
    if read is None:
        return ignore(outcome, key, "the submit file no longer exists")
    document, checked, reason = checked_submission(run, affiliate, read)
    job = Job(settings.bucket, affiliate, settings.results, submission.job_id(document, key),
              key, read.etag, configname=given_configname(document), stages=settings.stages,
              submit_version=read.version)
    if checked:
        job = replace(job, configname=checked.configname, versions=checked.versions,
                      units=dataset_units(job.results_path, checked.datasets))
        reason = budget.over_budget(run.s3, settings, affiliate, len(job.units))
    settle(run, job, reason, outcome)


def checked_submission(run, affiliate, read):
    """(document or None, Checked or None, rejection reason or None); each dataset and the config
    pinned to the version the submission means (pinning.py)."""
    settings, document = run.settings, None
    try:
        document = submission.parse(read.raw, settings.max_submit_bytes, read.size)
        pin = functools.partial(pinning.pinned_version, run.s3, settings.bucket, submitted_at=read.modified)
        return document, submission.check(document, settings, affiliate,
                                          lambda key, given: pin(key, given=given)), None
    except Rejected as rejection:
        return document, None, rejection.reason


def given_configname(document):
    """The configname a rejected submission gave, for its status (None unless a string)."""
    value = document.get("configname") if isinstance(document, dict) else None
    return submission.clean(value) if isinstance(value, str) else None


# --- a lab member's cancel request (both modes) --------------------------------------------

def handle_cancel(run, key, outcome):
    settings = run.settings
    affiliate = cancel.affiliate_of(settings, key)
    if affiliate is None:
        return ignore(outcome, key, f"not a cancel request under LAB/{settings.submissions}/")
    if not lab_configured(run, affiliate, settings.submissions):
        return ignore(outcome, key, "not in a lab of this pipeline", affiliate=affiliate)
    read = job_store.read_object(run.s3, settings.bucket, key, cancel.MAX_REQUEST_BYTES)
    job_id = cancel.requested_job(read.raw) if read else None
    if job_id is None:
        return ignore(outcome, key, 'not a cancel request: write {"job_id": "ID"}', affiliate=affiliate)
    decision, document = cancel.cancel(run.s3, settings, affiliate, key, job_id)
    log_decision(LOG, decision, job_id=job_id, affiliate=affiliate, key=key,
                 status=(document or {}).get("status"))
    outcome.setdefault("cancelled", []).append({"job_id": job_id, "decision": decision})
    if decision == "cancel-requested" and document.get("status") == CANCELLED:  # nothing was running
        job_store.publish_notice(run.sns, settings.topic_arn, cancel.job_of(settings, affiliate, document),
                                 CANCELLED, document.get("reason"))


# --- mode "fileset" ------------------------------------------------------------------------

def handle_fileset(run, key, outcome):
    settings = run.settings
    found = fileset.stem(settings, key)
    if found is None:
        return ignore(outcome, key, f"not a fileset file under LAB/{settings.inputs}/")
    affiliate, stem = found
    if not lab_configured(run, affiliate, settings.inputs):
        return ignore(outcome, key, "not in a lab of this pipeline", affiliate=affiliate)
    files = [stem + suffix for suffix in settings.suffixes]
    etags = [job_store.object_etag(run.s3, settings.bucket, name) for name in files]
    if None in etags:
        missing = [name for name, etag in zip(files, etags) if etag is None]
        return wait(outcome, affiliate, key, missing)
    job = fileset.job(settings, affiliate, stem, files, etags,
                      fileset.default_config(run.s3, settings, affiliate))
    reason = fileset.problem(settings, affiliate, files) or budget.over_budget(
        run.s3, settings, affiliate, len(job.units))
    settle(run, job, reason, outcome)


def wait(outcome, affiliate, key, missing):
    """The set is incomplete: the event of its last file will start the job."""
    log_decision(LOG, "waiting", affiliate=affiliate, key=key, missing=missing)
    outcome["waiting"].append(key)


# --- both modes: status first, then queue --------------------------------------------------

def settle(run, job, reason, outcome, reuse_allowed=True):
    """Create the job's status (the lock), then queue or reject; else handle the existing job."""
    document = status_document(job, REJECTED if reason else QUEUED, reason, False,
                               job_store.now())
    etag = job_store.create_status(run.s3, job, document)
    if etag:
        return finish(run, job, document, etag, outcome)
    existing, existing_etag = job_store.read_status(run.s3, job)
    if not same_submission(existing, job):
        return settle_reused(run, job, reason, existing, outcome, reuse_allowed)
    if existing.get("queued") is not True and existing.get("status") == QUEUED:
        return resume(run, job, document, existing, existing_etag, outcome)  # an attempt died before queueing
    if uploaded_again(existing, job) and reuse_allowed:
        return settle_uploaded_again(run, job, existing, outcome)
    return duplicate(job, outcome)


def finish(run, job, document, etag, outcome):
    status, reason = document["status"], document["reason"]
    job_store.write_certificate(run.s3, job, status, reason, document["updated"], run.settings.pipeline_version)
    if status == REJECTED:
        log_decision(LOG, "rejected", job_id=job.job_id, affiliate=job.affiliate, reason=reason,
                     submit_key=job.submit_key)
        outcome["rejected"].append({"job_id": job.job_id, "reason": reason})
    else:
        count = job_store.send_messages(run.sqs, run.settings.queue_url,
                                        run.settings.queue_fifo, job)
        job_store.mark_queued(run.s3, job, document, etag)
        log_decision(LOG, "queued", job_id=job.job_id, affiliate=job.affiliate, messages=count,
                     submit_key=job.submit_key)
        outcome["jobs"].append(job.job_id)
        capacity.request(run.autoscaling, run.sqs, run.settings, count)
    job_store.publish_notice(run.sns, run.settings.topic_arn, job, status, reason)


def same_submission(existing, job):
    return (existing.get("submit_key"), existing.get("submit_etag")) == (
        job.submit_key, job.submit_etag)


def uploaded_again(existing, job):
    """The same submit file with the same bytes, uploaded again as a new version (not the same
    upload's event delivered twice)."""
    return bool(existing.get("submit_version") and job.submit_version
                and existing.get("submit_version") != job.submit_version)


def settle_uploaded_again(run, job, existing, outcome):
    """Answer a re-upload of a submission: rejected under an id of its own, naming the job it
    repeats (which is not touched)."""
    state = existing.get("status") or "unknown"
    reason = (f"a duplicate of job {job.job_id} (the same submit file with the same bytes, uploaded again; "
              f"that job is {state}); to run it again, {REUSE_HINT[run.settings.mode]}")
    digest = hashlib.sha256(str(job.submit_version).encode()).hexdigest()[:8]
    answer = replace(job, job_id=f"{job.job_id}-duplicate-{digest}", units=())
    answered = len(outcome["rejected"])
    settle(run, answer, reason, outcome, reuse_allowed=False)
    if len(outcome["rejected"]) > answered:  # answered now, not a second delivery of the answered upload
        log_decision(LOG, "duplicate-upload", job_id=job.job_id, affiliate=job.affiliate, submit_key=job.submit_key)
        outcome["duplicates"].append(job.job_id)


def duplicate(job, outcome):
    log_decision(LOG, "duplicate", job_id=job.job_id, affiliate=job.affiliate,
                 submit_key=job.submit_key)
    outcome["duplicates"].append(job.job_id)


def status_age_seconds(document):
    try:
        updated = datetime.strptime(str(document.get("updated")), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return float("inf")
    return (datetime.now(UTC) - updated.replace(tzinfo=UTC)).total_seconds()


def resume(run, job, document, existing, existing_etag, outcome):
    """Status written but nothing queued: a crashed attempt (queue now) or one still running."""
    if status_age_seconds(existing) < IN_FLIGHT_SECONDS:
        log_decision(LOG, "in-flight-retry-later", job_id=job.job_id, affiliate=job.affiliate)
        raise RetryLater(f"job {job.job_id} is being queued by another attempt; retry later")
    etag = job_store.replace_status(run.s3, job, document, existing_etag)
    if etag is None:
        return duplicate(job, outcome)  # another delivery resumed it first
    log_decision(LOG, "resume-after-crash", job_id=job.job_id, affiliate=job.affiliate)
    return finish(run, job, document, etag, outcome)


def settle_reused(run, job, reason, existing, outcome, reuse_allowed):
    """Another submission owns this job id: reject this one under its own id, touching nothing."""
    other = shown(existing.get("submit_key") or "another submission")
    reuse = (f"job id {job.job_id} is already used by {other}; "
             f"{REUSE_HINT[run.settings.mode]}")
    log_decision(LOG, "job-id-reused", job_id=job.job_id, affiliate=job.affiliate,
                 submit_key=job.submit_key)
    if not reuse_allowed:
        outcome["rejected"].append({"job_id": job.job_id, "reason": reason or reuse})
        return None
    rejected = replace(job, job_id=f"{job.job_id}-rejected-{job.submit_etag[:8]}", units=())
    settle(run, rejected, f"{reason} (also, {reuse})" if reason else reuse, outcome,
           reuse_allowed=False)
