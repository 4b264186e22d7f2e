"""The lab's SNS notice when its job ends (SUCCESS or FAILED). A notice that cannot be sent is
logged; it never fails the job."""
from __future__ import annotations

import logging

from .aws import describe
from .log import decision

SUBJECT_LIMIT = 99  # SNS subjects must be shorter than 100 characters


def notice(task, status: str, reason: str | None) -> tuple[str, str]:
    subject = f"NCAP job {task.job_id} {status}"[:SUBJECT_LIMIT]
    lines = [f"Job {task.job_id} of lab {task.affiliate}: {status}", f"reason: {reason or '-'}",
             f"results: s3://{task.bucket}/{task.resultpath}",
             f"status: s3://{task.bucket}/{task.status_key}"]
    return subject, "\n".join(lines)


def publish(sns, topic_arn: str | None, task, status: str, reason: str | None) -> bool:
    if not topic_arn:
        return False
    subject, message = notice(task, status, reason)
    try:
        sns.publish(TopicArn=topic_arn, Subject=subject, Message=message, MessageAttributes={
            "affiliate": {"DataType": "String", "StringValue": task.affiliate}})
    except Exception as error:
        decision("notice-failed", logging.WARNING, job_id=task.job_id, affiliate=task.affiliate,
                 error=describe(error))
        return False
    decision("notice-sent", job_id=task.job_id, affiliate=task.affiliate, status=status)
    return True
