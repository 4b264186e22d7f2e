"""A lab member's request to cancel a job: `LAB/<submissions>/<anything>cancel.json` holding
{"job_id": ID}, which only members of the lab can write (IAM confines them to their lab's
folders), so a request names a job of the requester's own lab only.

The submit function notes the request in the job's status.json (`cancel_requested`) and cancels
every dataset not yet running, in one conditional write (contract.with_cancel); a worker whose
dataset runs stops it within seconds and sets it CANCELLED; a worker never starts a dataset of a
job whose cancel was requested. A request for a job that has ended changes nothing (logged)."""
import json
import logging
import random
import time

from . import contract
from .aws_errors import is_error
from .contract import MISSING, PRECONDITION
from .jobs import Job
from .log import get_logger, log_decision

LOG = get_logger("ncap_lambda.cancel")
MAX_REQUEST_BYTES = 4096
ATTEMPTS = 8


def affiliate_of(settings, key):
    """The lab of `LAB/<submissions>/...cancel.json`, else None."""
    parts = key.split("/")
    if len(parts) < 3 or not parts[0] or parts[1] != settings.submissions:
        return None
    return parts[0] if parts[-1].endswith(contract.CANCEL_SUFFIX) else None


def requested_job(raw):
    """The job id a cancel request names; None when it names none usably."""
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
    job_id = document.get("job_id") if isinstance(document, dict) else None
    return job_id if isinstance(job_id, str) and contract_job_id(job_id) else None


def contract_job_id(text):
    return 0 < len(text) <= 200 and "/" not in text and text not in (".", "..") and text.isprintable()


def cancel(s3, settings, affiliate, request_key, job_id):
    """Apply the request: (decision, the job's status document after it or None)."""
    job = Job(settings.bucket, affiliate, settings.results, job_id, request_key, "")
    for attempt in range(ATTEMPTS):
        try:
            reply = s3.get_object(Bucket=settings.bucket, Key=job.status_key)
        except Exception as error:
            if is_error(error, *MISSING):
                return "cancel-unknown-job", None
            raise
        with reply["Body"] as body:
            document = contract.decoded(body.read())
        new = contract.with_cancel(document, request_key)
        if new is None:
            return "cancel-after-end", document
        try:
            s3.put_object(Bucket=settings.bucket, Key=job.status_key, Body=contract.encoded(new),
                          ContentType="application/json", IfMatch=reply["ETag"])
            return "cancel-requested", new
        except Exception as error:
            if not is_error(error, *PRECONDITION, *contract.CONFLICT):
                raise
        time.sleep(random.uniform(0, 0.2 * (attempt + 1)))  # a worker wrote meanwhile: read again
    log_decision(LOG, "cancel-status-kept-changing", logging.WARNING, job_id=job_id, affiliate=affiliate)
    raise RuntimeError(f"status of job {job_id} kept changing; the cancel request is retried")


def job_of(settings, affiliate, document):
    """The Job a status document describes (for its notice)."""
    return Job(settings.bucket, affiliate, settings.results, str(document.get("job_id")),
               str(document.get("submit_key") or ""), str(document.get("submit_etag") or ""))
