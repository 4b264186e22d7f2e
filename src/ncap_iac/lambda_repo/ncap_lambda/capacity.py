"""Asking the worker group for capacity as soon as jobs are queued, instead of waiting for the
queue alarm (a minute or more, then the step's warm-up).

desired = min(MaxSize, jobs queued + jobs running), where the queue's approximate counts
(ApproximateNumberOfMessages + ApproximateNumberOfMessagesNotVisible) say how many jobs wait and run
(one job per instance), and are at least the messages just sent (the counts lag a little). Desired
capacity is only ever raised here, never lowered: idle workers leave on their own and the idle
alarm brings the group back to MinSize. Two submissions at once may both raise it; the later can
set the smaller of their two figures, which still covers the queue it saw, and the alarms remain
the safety net. Nothing is asked when the function has no group (LAUNCH false).

Permissions used: autoscaling:DescribeAutoScalingGroups (no resource-level permissions: "*"),
autoscaling:SetDesiredCapacity on this pipeline's group, sqs:GetQueueAttributes on its job queue.
"""
import logging

from .contract import error_code
from .log import get_logger, log_decision

LOG = get_logger("ncap_lambda.capacity")
COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


def jobs_in_queue(sqs, queue_url):
    """Jobs waiting plus jobs being worked on, as SQS counts them now."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(COUNTS))["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in COUNTS)


def wanted(group, in_queue, just_sent):
    """The desired capacity to ask for, or None when the group already has at least that much."""
    target = min(int(group["MaxSize"]), max(in_queue, just_sent))
    return target if target > int(group["DesiredCapacity"]) else None


def request(autoscaling, sqs, settings, just_sent):
    """Raise the group's desired capacity to what the queue needs. Never raises: the jobs are
    queued already, and the queue alarm scales the group if this request fails."""
    if not settings.worker_group or autoscaling is None:
        return None
    try:
        return _request(autoscaling, sqs, settings, just_sent)
    except Exception as error:
        log_decision(LOG, "capacity-request-failed", logging.WARNING, group=settings.worker_group,
                     error=type(error).__name__, code=error_code(error))
        return None


def _request(autoscaling, sqs, settings, just_sent):
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[settings.worker_group])
    found = groups.get("AutoScalingGroups") or []
    if not found:
        log_decision(LOG, "capacity-group-missing", logging.WARNING, group=settings.worker_group)
        return None
    group, in_queue = found[0], jobs_in_queue(sqs, settings.queue_url)
    target = wanted(group, in_queue, just_sent)
    if target is None:
        log_decision(LOG, "capacity-enough", group=settings.worker_group, desired=group["DesiredCapacity"],
                     in_queue=in_queue)
        return None
    autoscaling.set_desired_capacity(AutoScalingGroupName=settings.worker_group, DesiredCapacity=target,
                                     HonorCooldown=False)
    log_decision(LOG, "capacity-requested", group=settings.worker_group, desired=target,
                 was=group["DesiredCapacity"], in_queue=in_queue)
    return target
