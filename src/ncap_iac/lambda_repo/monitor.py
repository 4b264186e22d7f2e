"""EC2 instance state changes of the worker group, recorded under the pipeline's logs/instances/.

Fed by an EventBridge rule on "EC2 Instance State-change Notification", which matches every
instance of the region: the handler asks DescribeInstances for the instance's type and its
`aws:autoscaling:groupName` tag, and records only the instances of WORKER_GROUP. An instance that
EC2 no longer knows is recorded all the same, with a null type and group, so that operators can
still see it.

A record is one JSON line, stored as its own object (S3 cannot append) at
`INSTANCE_LOG_PREFIX + YYYY/MM/DD/<time>_<instance-id>_<state>.json`, <time> being the event's
time as 20260115T140509Z. The key depends on the event only, so a redelivered event overwrites
its own record. Malformed events are logged and ignored; AWS errors raise, so that Lambda retries.

Environment: BUCKET_NAME, WORKER_GROUP (the auto scaling groups' names, comma-separated: one per
stage), INSTANCE_LOG_PREFIX.
Permissions used: ec2:DescribeInstances, s3:PutObject on `logs/instances/*`.
"""
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3

from ncap_lambda.aws_errors import is_error
from ncap_lambda.log import get_logger, log_decision

LOG = get_logger("monitor")
GROUP_TAG = "aws:autoscaling:groupName"
DEFAULT_PREFIX = "logs/instances/"
INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")
STATE = re.compile(r"[a-z]+(-[a-z]+)*")  # pending, running, shutting-down, terminated, ...
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
MISSING_INSTANCE = ("InvalidInstanceID.NotFound",)


@dataclass(frozen=True)
class StateChange:
    instance_id: str
    state: str
    time: str  # as the event gives it
    moment: datetime  # the same, parsed, in UTC
    region: str


@dataclass(frozen=True)
class Instance:
    instance_type: object  # str, or None when EC2 no longer knows the instance
    group: object


def matching(value, pattern, what):
    """`value` when it is a string matching `pattern`; ValueError otherwise."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{what} is not valid: {value!r}"[:200])
    return value


def parse_time(value):
    """The event's ISO 8601 time ("2026-01-15T14:05:09Z") as an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError("no time zone")
        return moment.astimezone(UTC)
    except (AttributeError, TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"time is not valid ({error}): {value!r}"[:200]) from None


def read_change(event):
    """The state change an EventBridge EC2 event reports; ValueError when it is malformed."""
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        raise ValueError("the event has no detail object")
    detail = event["detail"]
    return StateChange(instance_id=matching(detail.get("instance-id"), INSTANCE_ID, "detail.instance-id"),
                       state=matching(detail.get("state"), STATE, "detail.state"),
                       time=str(event.get("time")), moment=parse_time(event.get("time")),
                       region=matching(event.get("region"), REGION, "region"))


def describe(ec2, instance_id):
    """The instance's type and group, or None when EC2 no longer knows the instance."""
    try:
        reply = ec2.describe_instances(InstanceIds=[instance_id])
    except Exception as error:
        if is_error(error, *MISSING_INSTANCE):
            return None
        raise
    found = [i for r in reply.get("Reservations", []) for i in r.get("Instances", [])]
    if not found:
        return None
    tags = {tag.get("Key"): tag.get("Value") for tag in found[0].get("Tags", [])}
    return Instance(found[0].get("InstanceType"), tags.get(GROUP_TAG))


def record_key(prefix, change):
    """`<prefix>YYYY/MM/DD/<time>_<instance-id>_<state>.json`: the same for a redelivered event."""
    folder = prefix.rstrip("/") + "/" if prefix else ""
    moment = change.moment
    return f"{folder}{moment:%Y/%m/%d}/{moment:%Y%m%dT%H%M%SZ}_{change.instance_id}_{change.state}.json"


def record_line(change, instance):
    record = {"instance_id": change.instance_id, "state": change.state, "time": change.time,
              "instance_type": instance.instance_type, "group": instance.group, "region": change.region}
    return json.dumps(record, sort_keys=True) + "\n"


def store(s3, bucket, key, line):
    s3.put_object(Bucket=bucket, Key=key, Body=line.encode("utf-8"), ContentType="application/json")


def instance_to_record(ec2, change, worker_group):
    """The instance to record, or None when it belongs to another group (or to none);
    `worker_group` names the pipeline's groups, comma-separated (one per stage)."""
    instance = describe(ec2, change.instance_id)
    if instance is None:
        log_decision(LOG, "record-unknown-instance", instance_id=change.instance_id, state=change.state)
        return Instance(None, None)
    if instance.group not in worker_group.split(","):
        log_decision(LOG, "not-ours", instance_id=change.instance_id, state=change.state,
                     group=instance.group)
        return None
    return instance


def handler(event, context):
    try:
        change = read_change(event)
    except ValueError as error:
        log_decision(LOG, "ignore-malformed-event", logging.WARNING, error=str(error))
        return {"outcome": "ignored", "reason": str(error)}
    instance = instance_to_record(boto3.client("ec2"), change, os.environ["WORKER_GROUP"])
    if instance is None:
        return {"outcome": "not-ours", "instance_id": change.instance_id}
    bucket = os.environ["BUCKET_NAME"]
    key = record_key(os.environ.get("INSTANCE_LOG_PREFIX", DEFAULT_PREFIX), change)
    store(boto3.client("s3"), bucket, key, record_line(change, instance))
    log_decision(LOG, "record-instance-state", instance_id=change.instance_id, state=change.state,
                 instance_type=instance.instance_type, bucket=bucket, key=key)
    return {"outcome": "recorded", "bucket": bucket, "key": key}
