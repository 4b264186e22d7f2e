"""Resources the emulator's CloudFormation does not make, made through the regular AWS APIs from
the same (translated) template: one provisioner per resource type, with create, update and delete.

moto's CloudFormation skips groups, group memberships, bucket and queue policies, scaling
policies, warm pools (moto keeps their settings only: no instance starts into a pool), alarms,
secrets, subscriptions and Cognito user pools and clients, and ignores some
properties of the users, buckets and auto scaling groups it does make (group membership, login
profiles; versioning, public access block, ownership, lifecycle, access logging; lifecycle hooks)
or keeps them in a form its own APIs
cannot read (key policies). Provisioners take resolved properties and an `Aws` of the emulator;
each returns the physical id CloudFormation would give the resource."""
from __future__ import annotations

import json
from typing import Any

from ..aws.errors import aws_errors, error_code
from ..aws.stacks import stack_resources
from . import iam, user_pools
from .provisioners_base import GONE, Provisioner, ignore_gone

# --- bucket and queue policies, bucket settings ---------------------------------------------

def _put_bucket_policy(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    # applied whole: the emulator evaluates it as AWS does (enforce.py), its requests counting as
    # TLS, so the TLS-only Deny never matches there
    aws.s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))
    return props["Bucket"]


def _delete_bucket_policy(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    ignore_gone(lambda: aws.s3.delete_bucket_policy(Bucket=props["Bucket"]))


def _put_queue_policy(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    # applied as written: moto does not evaluate queue policies, so the TLS-only Deny is harmless here
    for url in props["Queues"]:
        aws.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
    return ",".join(props["Queues"])


def _delete_queue_policy(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    for url in props["Queues"]:
        ignore_gone(lambda: aws.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""}))


def _bucket_settings(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    """Versioning, lifecycle, public access block, ownership, access logging and CORS of a bucket moto
    made. moto accepts the logging only once the target bucket's policy grants the logging service."""
    name, s3 = props["BucketName"], aws.s3
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if "LifecycleConfiguration" in props:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=_lifecycle(props))
    if "LoggingConfiguration" in props:
        s3.put_bucket_logging(Bucket=name, BucketLoggingStatus=_logging(props["LoggingConfiguration"]))
    if "CorsConfiguration" in props:
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [_cors_rule(r) for r in
                                                                        props["CorsConfiguration"]["CorsRules"]]})
    return name


def _cors_rule(rule: dict) -> dict:
    """A CloudFormation CORS rule in the API's spelling."""
    names = {"AllowedHeaders": "AllowedHeaders", "AllowedMethods": "AllowedMethods", "AllowedOrigins": "AllowedOrigins",
             "ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds", "Id": "ID"}
    return {names[k]: v for k, v in rule.items() if k in names}


def _logging(configuration: dict) -> dict:
    """CloudFormation's LoggingConfiguration in the S3 API's words."""
    return {"LoggingEnabled": {"TargetBucket": configuration["DestinationBucketName"],
                               "TargetPrefix": configuration.get("LogFilePrefix", "")}}


def _lifecycle(props: dict) -> dict:
    """CloudFormation's lifecycle rule shape in the S3 API's words."""
    rules = []
    for rule in props["LifecycleConfiguration"]["Rules"]:
        entry = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        for key in ("AbortIncompleteMultipartUpload", "NoncurrentVersionExpiration"):
            if key in rule:
                entry[key] = rule[key]
        if "ExpirationInDays" in rule:
            entry["Expiration"] = {"Days": rule["ExpirationInDays"]}
        if "ExpiredObjectDeleteMarker" in rule:
            entry["Expiration"] = {"ExpiredObjectDeleteMarker": rule["ExpiredObjectDeleteMarker"]}
        rules.append(entry)
    return {"Rules": rules}


def _key_policy(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    """The policy of a KMS key moto made: its CloudFormation keeps the KeyPolicy object as it is,
    where its KMS API expects JSON text (DescribeKey of the key fails), so it is put again as text."""
    key_id = stack_resources(aws.cloudformation, stack)[logical_id]
    if "KeyPolicy" in props:
        aws.client("kms").put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(props["KeyPolicy"]))
    return str(key_id)


# --- scaling, alarms, subscriptions ---------------------------------------------------------

def scaling_policy_name(stack_name: str, logical_id: str) -> str:
    return f"{stack_name}-{logical_id}"


def _put_scaling_policy(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    props = dict(props)
    name = props.pop("PolicyName", None) or scaling_policy_name(stack, logical_id)
    answer = aws.autoscaling.put_scaling_policy(PolicyName=name, **props)
    # moto answers without PolicyARN; its policies are found by name
    return answer.get("PolicyARN") or aws.autoscaling.describe_policies(
        AutoScalingGroupName=props["AutoScalingGroupName"], PolicyNames=[name])["ScalingPolicies"][0]["PolicyARN"]


def _delete_scaling_policy(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    name = props.get("PolicyName") or scaling_policy_name(stack, logical_id)
    ignore_gone(lambda: aws.autoscaling.delete_policy(AutoScalingGroupName=props["AutoScalingGroupName"],
                                                       PolicyName=name))


def alarm_name(props: dict, logical_id: str, stack: str) -> str:
    return props.get("AlarmName") or f"{stack}-{logical_id}"


def _put_alarm(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    name = alarm_name(props, logical_id, stack)
    fields = {k: v for k, v in props.items() if k != "AlarmName"}
    aws.cloudwatch.put_metric_alarm(AlarmName=name, **fields)
    return name


def _delete_alarm(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    aws.cloudwatch.delete_alarms(AlarmNames=[alarm_name(props, logical_id, stack)])


def _subscribe(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    attributes = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in props.items()
                  if k in ("FilterPolicy", "FilterPolicyScope")}
    return aws.sns.subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"],
                             Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]


def _resubscribe(logical_id: str, old: dict, new: dict, aws: Any, stack: str) -> str:
    _unsubscribe(logical_id, old, aws, stack)
    return _subscribe(logical_id, new, aws, stack)


def _unsubscribe(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    try:
        pages = aws.sns.list_subscriptions_by_topic(TopicArn=props["TopicArn"])["Subscriptions"]
    except aws_errors() as exc:
        if error_code(exc) in GONE:
            return
        raise
    for sub in pages:
        if sub["Endpoint"] == props["Endpoint"] and sub["Protocol"] == props["Protocol"]:
            aws.sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])


def _find_scaling_policy(logical_id: str, props: dict, aws: Any, stack: str) -> str | None:
    name = props.get("PolicyName") or scaling_policy_name(stack, logical_id)
    found = aws.autoscaling.describe_policies(AutoScalingGroupName=props["AutoScalingGroupName"],
                                              PolicyNames=[name])["ScalingPolicies"]
    return found[0]["PolicyARN"] if found else None


def _find_alarm(logical_id: str, props: dict, aws: Any, stack: str) -> str | None:
    return alarm_name(props, logical_id, stack)


def _group_hooks(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    """The lifecycle hooks a group declares (LifecycleHookSpecificationList), which moto's
    CloudFormation leaves out: made as PutLifecycleHook makes them."""
    name = props["AutoScalingGroupName"]
    for hook in props.get("LifecycleHookSpecificationList", []):
        fields = {k: hook[k] for k in ("HeartbeatTimeout", "DefaultResult", "NotificationMetadata") if k in hook}
        aws.autoscaling.put_lifecycle_hook(LifecycleHookName=hook["LifecycleHookName"], AutoScalingGroupName=name,
                                           LifecycleTransition=hook["LifecycleTransition"], **fields)
    return name


def _put_warm_pool(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    fields = {k: props[k] for k in ("MinSize", "MaxGroupPreparedCapacity", "PoolState", "InstanceReusePolicy")
              if k in props}
    aws.autoscaling.put_warm_pool(AutoScalingGroupName=props["AutoScalingGroupName"], **fields)
    return f"{props['AutoScalingGroupName']}-warm-pool"


def _delete_warm_pool(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    ignore_gone(lambda: aws.autoscaling.delete_warm_pool(AutoScalingGroupName=props["AutoScalingGroupName"],
                                                         ForceDelete=True))


# In the order CloudFormation's dependencies need them when several are made at once.
PROVISIONERS: dict[str, Provisioner] = {
    "AWS::IAM::Group": Provisioner(iam.create_group, iam.update_group, iam.delete_group, iam.find_group),
    "AWS::S3::BucketPolicy": Provisioner(_put_bucket_policy, None, _delete_bucket_policy),
    "AWS::SQS::QueuePolicy": Provisioner(_put_queue_policy, None, _delete_queue_policy),
    "AWS::AutoScaling::ScalingPolicy": Provisioner(_put_scaling_policy, None, _delete_scaling_policy,
                                                   _find_scaling_policy),
    "AWS::CloudWatch::Alarm": Provisioner(_put_alarm, None, _delete_alarm, _find_alarm),
    "AWS::AutoScaling::WarmPool": Provisioner(_put_warm_pool, None, _delete_warm_pool),
    "AWS::SNS::Subscription": Provisioner(_subscribe, _resubscribe, _unsubscribe),
    "AWS::Cognito::UserPool": Provisioner(user_pools.create_pool, user_pools.update_pool, user_pools.delete_pool,
                                          user_pools.find_pool),
    "AWS::Cognito::UserPoolClient": Provisioner(user_pools.create_client, None, user_pools.delete_client,
                                                user_pools.find_client),
}
# Types moto makes, with properties it ignores: completed after moto made (or changed) them.
COMPLETERS: dict[str, Provisioner] = {
    "AWS::S3::Bucket": Provisioner(_bucket_settings, None, None),
    "AWS::KMS::Key": Provisioner(_key_policy, None, None),
    "AWS::AutoScaling::AutoScalingGroup": Provisioner(_group_hooks, None, None),
}
SKIPPED_TYPES = tuple(PROVISIONERS)
