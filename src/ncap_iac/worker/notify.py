"""The lab's SNS notice when its job ends (SUCCESS or FAILED). A notice that cannot be sent is
logged; it never fails the job."""
from __future__ import annotations

import logging

from ..lambda_repo.ncap_lambda import contract
from .aws import describe
from .log import decision


def notice(task, status: str, reason: str | None) -> tuple[str, str]:
    return contract.notice(task.job_id, task.affiliate, status, reason, [
        ("results", f"s3://{task.bucket}/{task.resultpath}"),
        ("status", f"s3://{task.bucket}/{task.status_key}")])


def publish(sns, topic_arn: str | None, task, status: str, reason: str | None) -> bool:
    if not topic_arn:
        return False
    subject, message = notice(task, status, reason)
    try:
        sns.publish(TopicArn=topic_arn, Subject=subject, Message=message,
                    MessageAttributes=contract.notice_attributes(task.affiliate))
    except Exception as error:
        decision("notice-failed", logging.WARNING, job_id=task.job_id, affiliate=task.affiliate,
                 error=describe(error))
        return False
    decision("notice-sent", job_id=task.job_id, affiliate=task.affiliate, status=status)
    return True
