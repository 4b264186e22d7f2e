"""Notices and watching: the SNS topic (operators get everything, each lab only its own job
notices), the key it is encrypted with, the dead-letter alarm, and the monitor function fed by EC2
instance state changes.

The topic is encrypted with a customer managed key of its own: CloudWatch alarms cannot publish to
a topic encrypted with the AWS managed key alias/aws/sns, whose policy nobody can change. Whoever
publishes to the topic needs kms:GenerateDataKey and kms:Decrypt on that key
(`topic_key_statement`)."""
from __future__ import annotations

import json

from troposphere import AWSObject, GetAtt, Output, Ref
from troposphere.cloudwatch import Alarm, Metric, MetricDataQuery, MetricDimension, MetricStat
from troposphere.kms import Alias, Key
from troposphere.serverless import EventBridgeRuleEvent
from troposphere.sns import SubscriptionResource as Subscription
from troposphere.sns import Topic

from .. import names
from ..config.model import Affiliate, StackConfig
from ..lambda_repo.ncap_lambda.contract import NOTICE_ATTRIBUTE
from ..lambda_repo.ncap_lambda.ledger import LEDGER_PREFIX
from . import iam
from .budgets import volume_month_usd
from .functions import FunctionSpec, lambda_function
from .tags import pipeline_tags

INSTANCE_LOG_PREFIX = "logs/instances/"
ALARMS_SERVICE = "cloudwatch.amazonaws.com"
# What the account's administrators may do with the key through IAM policies: manage it, and let
# the publishers (whose roles name the key) encrypt and decrypt notices. Nothing else: no
# kms:Encrypt or re-encryption, no grants.
KEY_ADMINISTRATION = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant", "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
PUBLISHER_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


def resources(config: StackConfig) -> list[AWSObject]:
    """The topic and its key, the operators' subscriptions, the dead-letter alarm and (unless
    MONITOR is false) the instance-state monitor."""
    topic = Topic(names.TOPIC, TopicName=names.topic_name(config.pipeline_name), KmsMasterKeyId=Ref(names.TOPIC_KEY),
                  Tags=pipeline_tags(config))
    found = [topic, *_topic_key(config), *_subscriptions(config), _dead_letter_alarm(config)]
    return found + _monitor(config) if config.monitor else found


def topic_key_statement() -> dict:
    """The use of the topic's key that publishing needs, on that key only: every role with
    sns:Publish on the topic has this statement too."""
    return iam.statement("EncryptNotices", PUBLISHER_KEY_ACTIONS, [iam.arn_of(names.TOPIC_KEY)])


def _topic_key(config: StackConfig) -> list[AWSObject]:
    key = Key(names.TOPIC_KEY, Description=f"Encrypts the notices topic of ncap pipeline {config.pipeline_name}",
              EnableKeyRotation=True, KeyPolicy=_key_policy())
    alias = Alias(names.TOPIC_KEY_ALIAS, AliasName=names.topic_key_alias(config.pipeline_name),
                  TargetKeyId=Ref(names.TOPIC_KEY))
    return [key, alias]


def _key_policy() -> dict:
    """The account administers the key (and lets the publishers' roles use it); CloudWatch alarms
    of this account may use it to publish. In a key policy "*" as the resource means this key."""
    account = {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": iam.iam_arn("root")},
               "Action": sorted(KEY_ADMINISTRATION + PUBLISHER_KEY_ACTIONS), "Resource": "*"}
    alarms = {"Sid": "AlarmsPublish", "Effect": "Allow", "Principal": {"Service": ALARMS_SERVICE},
              "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
              "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}}}
    return iam.document(account, alarms)


def _monitor(config: StackConfig) -> list[AWSObject]:
    spec = FunctionSpec(names.MONITOR_FUNCTION, "monitor.handler",
                        "Records the worker instances' state changes under logs/instances/",
                        _monitor_statements(config), timeout=30, environment={
                            "BUCKET_NAME": config.pipeline_name,
                            "WORKER_GROUP": ",".join(names.worker_group_name(config.pipeline_name, stage.name,
                                                                             on_demand)
                                                     for stage in config.worker_stages
                                                     for on_demand in stage.capacities),
                            "INSTANCE_LOG_PREFIX": INSTANCE_LOG_PREFIX, **_warm_pools(config)},
                        events={names.INSTANCE_STATE_EVENT: EventBridgeRuleEvent(names.INSTANCE_STATE_EVENT, Pattern={
                            "source": ["aws.ec2"],
                            "detail-type": ["EC2 Instance State-change Notification"]})})
    return lambda_function(config, spec)


def outputs(config: StackConfig) -> list[Output]:
    return [Output(names.TOPIC_OUTPUT, Description="Job notices and alarms", Value=Ref(names.TOPIC))]


def _subscriptions(config: StackConfig) -> list[Subscription]:
    found = [Subscription(names.operator_subscription(position), TopicArn=Ref(names.TOPIC),
                          Protocol="email", Endpoint=email)
             for position, email in enumerate(config.notifications.operator_emails)]
    return found


def lab_resources(config: StackConfig, affiliate: Affiliate, topic) -> list[AWSObject]:
    """The lab's own job notices to its ContactEmail (`topic`: the topic's ARN)."""
    if not (config.notifications.notify_labs and affiliate.contact_email):
        return []
    return [Subscription(names.lab_subscription(affiliate.name), TopicArn=topic, Protocol="email",
                         Endpoint=affiliate.contact_email, FilterPolicyScope="MessageAttributes",
                         FilterPolicy={NOTICE_ATTRIBUTE: [affiliate.name]})]


def _dead_letter_alarm(config: StackConfig) -> Alarm:
    stages = config.worker_stages
    jobs = [queue_metric("jobs" + (str(position) if len(stages) > 1 else ""),
                         names.in_stage(names.DEAD_LETTER_QUEUE, stage.name), "ApproximateNumberOfMessagesVisible", 300)
            for position, stage in enumerate(stages)]
    events = queue_metric("events", names.TRIGGER_DEAD_LETTER_QUEUE, "ApproximateNumberOfMessagesVisible", 300)
    metrics = [*jobs, events]
    return sum_of_queues_alarm(names.DEAD_LETTER_ALARM,
                               "Jobs or submit events failed every attempt: see the dead-letter queues",
                               metrics, comparison="GreaterThanThreshold", periods=1, missing="notBreaching",
                               actions=[Ref(names.TOPIC)])


def warm_pool_rates(config: StackConfig) -> dict[str, float]:
    """{group: USD per hour of one pool instance's root volume} of the groups with a warm pool whose
    volume price the price table knows (gp3, billed per second over a 30-day month)."""
    monthly = {stage: volume_month_usd(config, stage) for stage in config.worker_stages
               if stage.scaling.warm_pool is not None}
    return {names.worker_group_name(config.pipeline_name, stage.name, stage.workers.on_demand_fallback): usd / (30 * 24)
            for stage, usd in monthly.items() if usd is not None}


def _warm_pools(config: StackConfig) -> dict[str, str]:
    rates = warm_pool_rates(config)
    return {"WARM_POOLS": json.dumps(rates, sort_keys=True)} if rates else {}


def _monitor_statements(config: StackConfig) -> list[dict]:
    found = [
        # ec2:DescribeInstances has no resource-level permissions: "*" is the only resource it takes.
        iam.statement("ReadInstanceType", ["ec2:DescribeInstances"], ["*"]),
        iam.statement("RecordInstanceStates", ["s3:PutObject"],
                      [iam.object_arn(config.pipeline_name, INSTANCE_LOG_PREFIX + "*")]),
    ]
    if warm_pool_rates(config):
        warm = INSTANCE_LOG_PREFIX + "warm/"
        found += [iam.statement("KeepWarmPoolStops", ["s3:GetObject", "s3:DeleteObject"],
                                [iam.object_arn(config.pipeline_name, warm + "*")]),
                  # without it S3 answers a stop time never kept with 403, not 404
                  iam.statement("FindWarmPoolStops", ["s3:ListBucket"], [iam.bucket_arn(config.pipeline_name)],
                                condition={"StringLike": {"s3:prefix": [warm + "*"]}}),
                  iam.statement("BookWarmPoolTime", ["s3:PutObject"],
                                [iam.object_arn(config.pipeline_name, f"{LEDGER_PREFIX}*/_unattributed/warm-pool/*")])]
    return found


def queue_metric(query_id: str, queue_id: str, metric: str, period: int) -> MetricDataQuery:
    return MetricDataQuery(Id=query_id, ReturnData=False, MetricStat=MetricStat(
        Metric=Metric(Namespace="AWS/SQS", MetricName=metric,
                      Dimensions=[MetricDimension(Name="QueueName", Value=GetAtt(queue_id, "QueueName"))]),
        Period=period, Stat="Maximum"))


def sum_of_queues_alarm(logical_id: str, description: str, metrics: list[MetricDataQuery], *,
                        comparison: str, periods: int, missing: str, actions: list) -> Alarm:
    total = MetricDataQuery(Id="total", Expression=" + ".join(m.Id for m in metrics),
                            Label="messages", ReturnData=True)
    return Alarm(logical_id, AlarmDescription=description, Metrics=[*metrics, total], Threshold=0,
                 ComparisonOperator=comparison, EvaluationPeriods=periods, TreatMissingData=missing,
                 AlarmActions=actions)
