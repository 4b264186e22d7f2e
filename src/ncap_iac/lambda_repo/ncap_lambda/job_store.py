"""The AWS side of a job: its status and certificate in S3, its messages in SQS, its SNS notice.

status.json is created with a conditional put (If-None-Match: *), so that of two deliveries of
one submission exactly one goes on; later writes carry If-Match, so that a worker's newer status
is never overwritten."""
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from .aws_errors import RetryLater, error_code, is_error
from .contract import MISSING, PRECONDITION, decoded, encoded, notice_attributes
from .jobs import certificate_text, message_entries, notice
from .log import get_logger, log_decision

LOG = get_logger("ncap_lambda.job_store")
BATCH = 10  # messages per send_message_batch (the SQS maximum)
MARK_ATTEMPTS = 3


class QueueError(RetryLater):
    """SQS did not take every message of a job (a retry sends them again)."""


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def bare_etag(etag):
    return (etag or "").strip('"')


def object_etag(s3, bucket, key):
    """The object's ETag (without quotes), or None when there is no such object."""
    try:
        return bare_etag(s3.head_object(Bucket=bucket, Key=key)["ETag"])
    except Exception as error:
        if is_error(error, *MISSING):
            return None
        raise


def exists(s3, bucket, key):
    return object_etag(s3, bucket, key) is not None


@dataclass(frozen=True)
class Read:
    """An object as read: its bytes (b"" when it is over the limit), size, ETag without quotes,
    version id (None without versioning) and when it was uploaded."""
    raw: bytes
    size: int
    etag: str
    version: str | None
    modified: datetime


def read_object(s3, bucket, key, limit, version=None):
    """The object (its `version`, when given) as Read, or None when it is gone. An object over
    `limit` bytes is not read."""
    try:
        reply = s3.get_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))
    except Exception as error:
        if is_error(error, *MISSING, "NoSuchVersion", *(("InvalidArgument", "400") if version else ())):
            return None
        raise
    size = int(reply.get("ContentLength", 0))
    with reply["Body"] as body:
        raw = body.read(limit + 1) if size <= limit else b""
    version = reply.get("VersionId")
    return Read(raw, max(size, len(raw)), bare_etag(reply.get("ETag")), None if version in (None, "null") else version,
                reply.get("LastModified") or datetime.now(timezone.utc))


def put_json(s3, job, document, **condition):
    """Put status.json; returns its ETag (with quotes, as If-Match wants it)."""
    return s3.put_object(Bucket=job.bucket, Key=job.status_key, Body=encoded(document),
                         ContentType="application/json", **condition)["ETag"]


def create_status(s3, job, document):
    """Create status.json if it does not exist: its ETag, or None when it already existed."""
    try:
        return put_json(s3, job, document, IfNoneMatch="*")
    except Exception as error:
        if is_error(error, *PRECONDITION):
            return None
        raise


def read_status(s3, job):
    """(document, ETag) of the job's status.json; a document that is not a JSON object is {}."""
    reply = s3.get_object(Bucket=job.bucket, Key=job.status_key)
    with reply["Body"] as body:
        return decoded(body.read()), reply["ETag"]


def replace_status(s3, job, document, etag):
    """Overwrite status.json if it still has `etag`: the new ETag, or None when it changed."""
    try:
        return put_json(s3, job, document, IfMatch=etag)
    except Exception as error:
        if is_error(error, *PRECONDITION):
            return None
        raise


def mark_queued(s3, job, document, etag):
    """Set "queued": true, keeping whatever a worker may have written meanwhile."""
    for _ in range(MARK_ATTEMPTS):
        document = {**document, "queued": True, "updated": now()}
        if replace_status(s3, job, document, etag):
            return True
        document, etag = read_status(s3, job)
        if document.get("queued") is True:
            return True
    log_decision(LOG, "status-kept-changing", logging.WARNING, job_id=job.job_id,
                 affiliate=job.affiliate)
    return False


def write_certificate(s3, job, status, reason, updated, pipeline_version=None):
    text = certificate_text(job, status, reason, updated, pipeline_version)
    s3.put_object(Bucket=job.bucket, Key=job.certificate_key,
                  Body=text.encode("utf-8", "backslashreplace"),
                  ContentType="text/plain; charset=utf-8")


def send_messages(sqs, queue_url, fifo, job):
    """One message per unit of the job, in batches; raises QueueError if SQS refused any."""
    entries = message_entries(job, fifo)
    for start in range(0, len(entries), BATCH):
        reply = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries[start:start + BATCH])
        failed = reply.get("Failed", [])
        if failed:
            codes = sorted({entry.get("Code", "?") for entry in failed})
            raise QueueError(f"SQS refused {len(failed)} messages of job {job.job_id}: {codes}")
    return len(entries)


def publish_notice(sns, topic_arn, job, status, reason):
    """Tell the lab; a failure is logged and never fails the submission."""
    if not topic_arn:
        return False
    subject, message = notice(job, status, reason)
    try:
        sns.publish(TopicArn=topic_arn, Subject=subject, Message=message,
                    MessageAttributes=notice_attributes(job.affiliate))
    except Exception as error:
        log_decision(LOG, "notice-failed", logging.WARNING, job_id=job.job_id,
                     affiliate=job.affiliate, error=type(error).__name__,
                     code=error_code(error))
        return False
    log_decision(LOG, "notice-sent", job_id=job.job_id, affiliate=job.affiliate, status=status)
    return True
