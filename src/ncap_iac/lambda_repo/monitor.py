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

A group with a warm pool (WARM_POOLS: {group: its instances' volumes in USD per hour}) keeps
stopped instances that pay for their volumes only. When one stops, its stop time is kept at
`<prefix>warm/<instance-id>.json`; when it starts again (pending: the group takes it out of the
pool) or goes (shutting-down, terminated), the stopped time is booked in the ledger, priced at
the volumes' rate, under `ledger/<month>/_unattributed/warm-pool/<instance-id>-<stopped>.json`
(the month the stop ended in; no lab's: the pool serves them all), and the kept time removed.

Environment: BUCKET_NAME, WORKER_GROUP (the auto scaling groups' names, comma-separated: one per
stage, and a Spot stage's on-demand group), INSTANCE_LOG_PREFIX, WARM_POOLS (JSON, optional).
Permissions used: ec2:DescribeInstances, s3:PutObject on `logs/instances/*`; with warm pools
s3:GetObject and s3:DeleteObject on `logs/instances/warm/*` and s3:PutObject on the pool's
ledger entries.
"""
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3

from ncap_lambda.aws_errors import is_error
from ncap_lambda.contract import MISSING
from ncap_lambda.ledger import LEDGER_VERSION, UNATTRIBUTED, ledger_prefix
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
    state: object = None  # its state as EC2 describes it now (events may arrive out of order)


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
    return Instance(found[0].get("InstanceType"), tags.get(GROUP_TAG), (found[0].get("State") or {}).get("Name"))


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
    s3 = boto3.client("s3")
    store(s3, bucket, key, record_line(change, instance))
    log_decision(LOG, "record-instance-state", instance_id=change.instance_id, state=change.state,
                 instance_type=instance.instance_type, bucket=bucket, key=key)
    pools = warm_pools(os.environ.get("WARM_POOLS"))
    if instance.group in pools:
        book_warm_time(s3, bucket, os.environ.get("INSTANCE_LOG_PREFIX", DEFAULT_PREFIX), change, instance,
                       pools[instance.group])
    return {"outcome": "recorded", "bucket": bucket, "key": key}


def warm_pools(text):
    """WARM_POOLS: {group: USD per hour of a pool instance's volumes}; {} when unset or unusable."""
    try:
        found = json.loads(text or "{}")
    except ValueError:
        log_decision(LOG, "warm-pools-unreadable", logging.WARNING)
        return {}
    return {group: float(rate) for group, rate in found.items() if isinstance(rate, (int, float))} \
        if isinstance(found, dict) else {}


def warm_key(prefix, instance_id):
    return f"{prefix.rstrip('/')}/warm/{instance_id}.json"


def book_warm_time(s3, bucket, prefix, change, instance, usd_per_hour):
    """A pool instance stopped: keep when. Started again, or gone: book the time it stood stopped."""
    key = warm_key(prefix, change.instance_id)
    if change.state == "stopped":
        if instance.state in ("stopping", "stopped"):  # not a stop delivered after the start that ended it
            store(s3, bucket, key, json.dumps({"stopped": change.time}) + "\n")
        return
    if change.state not in ("pending", "shutting-down", "terminated"):
        return
    try:
        reply = s3.get_object(Bucket=bucket, Key=key)
    except Exception as error:
        if is_error(error, *MISSING):
            return  # it never stood stopped (or was booked already)
        raise
    with reply["Body"] as body:
        text = body.read()
    try:
        stopped = parse_time(json.loads(text).get("stopped"))
    except (ValueError, AttributeError) as error:  # not a record this function wrote: drop it
        log_decision(LOG, "warm-time-unreadable", logging.WARNING, instance_id=change.instance_id, error=str(error))
        s3.delete_object(Bucket=bucket, Key=key)
        return
    seconds = max(0.0, (change.moment - stopped).total_seconds())
    entry = {"version": LEDGER_VERSION, "kind": "warm-pool", "lab": UNATTRIBUTED, "instance_id": change.instance_id,
             "instance_type": instance.instance_type, "group": instance.group,
             "stopped": f"{stopped:%Y-%m-%dT%H:%M:%SZ}",
             "finished": change.time, "seconds": seconds, "volume_usd_per_hour": usd_per_hour,
             "cost_usd": usd_per_hour * seconds / 3600.0}
    booked = (f"{ledger_prefix(f'{change.moment:%Y-%m}', UNATTRIBUTED)}warm-pool/"
              f"{change.instance_id}-{stopped:%Y%m%dT%H%M%SZ}.json")
    store(s3, bucket, booked, json.dumps(entry, sort_keys=True))
    s3.delete_object(Bucket=bucket, Key=key)
    log_decision(LOG, "warm-time-booked", instance_id=change.instance_id, seconds=seconds, key=booked)
