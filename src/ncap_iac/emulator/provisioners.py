"""Resources the emulator's CloudFormation does not make, made through the regular AWS APIs from
the same (translated) template: one provisioner per resource type, with create, update and delete.

moto's CloudFormation skips groups, group memberships, bucket and queue policies, scaling
policies, alarms, secrets and subscriptions, and ignores some properties of the users and buckets
it does make (group membership, login profiles; versioning, public access block, ownership,
lifecycle). Provisioners take resolved properties and an `Aws` of the emulator; each returns the
physical id CloudFormation would give the resource."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..aws.errors import aws_errors, error_code

_DYNAMIC_SECRET = re.compile(r"\{\{resolve:secretsmanager:(.+?):SecretString:(\w+)\}\}")
GONE = ("NoSuchEntity", "ResourceNotFoundException", "NotFound", "NoSuchBucketPolicy",
        "AWS.SimpleQueueService.NonExistentQueue", "ValidationError")
# moto evaluates bucket policies on object requests but treats condition operators other than
# StringEquals as always true, so the TLS-only Deny (Bool aws:SecureTransport false) would deny
# every object request on the plain-HTTP emulator. Such statements are left out here.
EVALUATED_CONDITIONS = {"StringEquals"}
NOT_APPLIED = "not applied on the plain-HTTP emulator: "


@dataclass(frozen=True)
class Provisioner:
    """Each function takes the logical id, the resolved properties (old and new for an update),
    the emulator's Aws and the stack's name."""

    create: Callable[[str, dict, Any, str], str]  # -> the physical id
    update: Callable[[str, dict, dict, Any, str], str] | None = None  # None: create again (a put)
    delete: Callable[[str, dict, Any, str], None] | None = None  # None: nothing to remove
    find: Callable[[str, dict, Any, str], str | None] | None = None  # the physical id of one made before

    def apply_update(self, logical_id: str, old: dict, new: dict, aws: Any, stack: str) -> str:
        if self.update is None:
            return self.create(logical_id, new, aws, stack)
        return self.update(logical_id, old, new, aws, stack)


def _ignore_gone(action: Callable[[], Any]) -> None:
    try:
        action()
    except aws_errors() as exc:
        if error_code(exc) not in GONE:
            raise


# --- secrets --------------------------------------------------------------------------------

def _create_secret(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    generate = props.get("GenerateSecretString", {})
    value = json.loads(generate.get("SecretStringTemplate", "{}"))
    value[generate.get("GenerateStringKey", "password")] = aws.secretsmanager.get_random_password(
        PasswordLength=generate.get("PasswordLength", 24),
        ExcludeCharacters=generate.get("ExcludeCharacters", ""))["RandomPassword"]
    return aws.secretsmanager.create_secret(Name=props["Name"], SecretString=json.dumps(value),
                                            Description=props.get("Description", ""))["ARN"]


def _keep_secret(logical_id: str, old: dict, new: dict, aws: Any, stack: str) -> str:
    """A generated secret keeps its value on update (CloudFormation regenerates it only when
    GenerateSecretString changes, which the templates never do)."""
    return aws.secretsmanager.describe_secret(SecretId=new["Name"])["ARN"]


def _delete_secret(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    _ignore_gone(lambda: aws.secretsmanager.delete_secret(SecretId=props["Name"], ForceDeleteWithoutRecovery=True))


# --- groups and membership ------------------------------------------------------------------

def _create_group(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    aws.iam.create_group(GroupName=props["GroupName"], **({"Path": props["Path"]} if "Path" in props else {}))
    _put_group_policies(props, aws)
    return props["GroupName"]


def _put_group_policies(props: dict, aws: Any) -> None:
    for policy in props.get("Policies", []):
        aws.iam.put_group_policy(GroupName=props["GroupName"], PolicyName=policy["PolicyName"],
                                 PolicyDocument=json.dumps(policy["PolicyDocument"]))


def _update_group(logical_id: str, old: dict, new: dict, aws: Any, stack: str) -> str:
    _put_group_policies(new, aws)
    kept = {p["PolicyName"] for p in new.get("Policies", [])}
    for policy in old.get("Policies", []):
        if policy["PolicyName"] not in kept:
            _ignore_gone(lambda: aws.iam.delete_group_policy(GroupName=new["GroupName"],
                                                             PolicyName=policy["PolicyName"]))
    return new["GroupName"]


def _delete_group(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    group = props["GroupName"]
    try:
        members = aws.iam.get_group(GroupName=group)["Users"]
    except aws_errors() as exc:
        if error_code(exc) in GONE:
            return
        raise
    for user in members:  # moto keeps members whose user is already deleted
        _ignore_gone(lambda: aws.iam.remove_user_from_group(GroupName=group, UserName=user["UserName"]))
    for policy in aws.iam.list_group_policies(GroupName=group)["PolicyNames"]:
        aws.iam.delete_group_policy(GroupName=group, PolicyName=policy)
    aws.iam.delete_group(GroupName=group)


def _add_users(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    for user in props["Users"]:  # users that exist already in the cloud; stand-ins locally
        if not _user_exists(aws, user):
            aws.iam.create_user(UserName=user)
        aws.iam.add_user_to_group(GroupName=props["GroupName"], UserName=user)
    return f"{props['GroupName']}|{','.join(props['Users'])}"


def _update_users(logical_id: str, old: dict, new: dict, aws: Any, stack: str) -> str:
    _remove_users(logical_id, {**old, "Users": [u for u in old["Users"] if u not in new["Users"]]}, aws, stack)
    return _add_users(logical_id, new, aws, stack)


def _remove_users(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    for user in props["Users"]:
        _ignore_gone(lambda: aws.iam.remove_user_from_group(GroupName=props["GroupName"], UserName=user))


def _user_exists(aws: Any, user: str) -> bool:
    try:
        aws.iam.get_user(UserName=user)
        return True
    except aws_errors() as exc:
        if error_code(exc) == "NoSuchEntity":
            return False
        raise


def _link_user(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    """Group membership and console login of a user moto made (it ignores both)."""
    for group in props.get("Groups", []):
        aws.iam.add_user_to_group(GroupName=group, UserName=props["UserName"])
    if "LoginProfile" in props:
        password = _dynamic_secret(props["LoginProfile"]["Password"], aws)
        aws.iam.create_login_profile(UserName=props["UserName"], Password=password, PasswordResetRequired=True)
    return props["UserName"]


def _relink_user(logical_id: str, old: dict, new: dict, aws: Any, stack: str) -> str:
    for group in set(old.get("Groups", [])) - set(new.get("Groups", [])):
        _ignore_gone(lambda: aws.iam.remove_user_from_group(GroupName=group, UserName=new["UserName"]))
    for group in new.get("Groups", []):
        aws.iam.add_user_to_group(GroupName=group, UserName=new["UserName"])
    return new["UserName"]


def _dynamic_secret(reference: str, aws: Any) -> str:
    match = _DYNAMIC_SECRET.fullmatch(reference)
    if match is None:
        return reference
    secret_id, key = match.groups()
    return json.loads(aws.secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"])[key]


# --- bucket and queue policies, bucket settings ---------------------------------------------

def _put_bucket_policy(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    document = dict(props["PolicyDocument"])
    kept = [s for s in document["Statement"] if set(s.get("Condition", {})) <= EVALUATED_CONDITIONS]
    left_out = [s.get("Sid", "?") for s in document["Statement"] if s not in kept]
    if kept:
        aws.s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps({**document, "Statement": kept}))
    return NOT_APPLIED + ", ".join(left_out) if left_out else props["Bucket"]


def _delete_bucket_policy(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    _ignore_gone(lambda: aws.s3.delete_bucket_policy(Bucket=props["Bucket"]))


def _put_queue_policy(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    # applied as written: moto does not evaluate queue policies, so the TLS-only Deny is harmless here
    for url in props["Queues"]:
        aws.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
    return ",".join(props["Queues"])


def _delete_queue_policy(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    for url in props["Queues"]:
        _ignore_gone(lambda: aws.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""}))


def _bucket_settings(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    """Versioning, lifecycle, public access block and ownership of a bucket moto made."""
    name, s3 = props["BucketName"], aws.s3
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if "LifecycleConfiguration" in props:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=_lifecycle(props))
    return name


def _lifecycle(props: dict) -> dict:
    """CloudFormation's lifecycle rule shape in the S3 API's words."""
    rules = []
    for rule in props["LifecycleConfiguration"]["Rules"]:
        entry = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        for key in ("AbortIncompleteMultipartUpload", "NoncurrentVersionExpiration"):
            if key in rule:
                entry[key] = rule[key]
        rules.append(entry)
    return {"Rules": rules}


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
    _ignore_gone(lambda: aws.autoscaling.delete_policy(AutoScalingGroupName=props["AutoScalingGroupName"],
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


def _find_group(logical_id: str, props: dict, aws: Any, stack: str) -> str | None:
    return props.get("GroupName")


def _find_secret(logical_id: str, props: dict, aws: Any, stack: str) -> str | None:
    try:
        return aws.secretsmanager.describe_secret(SecretId=props["Name"])["ARN"]
    except aws_errors() as exc:
        if error_code(exc) in GONE:
            return None
        raise


def _find_scaling_policy(logical_id: str, props: dict, aws: Any, stack: str) -> str | None:
    name = props.get("PolicyName") or scaling_policy_name(stack, logical_id)
    found = aws.autoscaling.describe_policies(AutoScalingGroupName=props["AutoScalingGroupName"],
                                              PolicyNames=[name])["ScalingPolicies"]
    return found[0]["PolicyARN"] if found else None


def _find_alarm(logical_id: str, props: dict, aws: Any, stack: str) -> str | None:
    return alarm_name(props, logical_id, stack)


# In the order CloudFormation's dependencies need them when several are made at once.
PROVISIONERS: dict[str, Provisioner] = {
    "AWS::SecretsManager::Secret": Provisioner(_create_secret, _keep_secret, _delete_secret, _find_secret),
    "AWS::IAM::Group": Provisioner(_create_group, _update_group, _delete_group, _find_group),
    "AWS::IAM::UserToGroupAddition": Provisioner(_add_users, _update_users, _remove_users),
    "AWS::S3::BucketPolicy": Provisioner(_put_bucket_policy, None, _delete_bucket_policy),
    "AWS::SQS::QueuePolicy": Provisioner(_put_queue_policy, None, _delete_queue_policy),
    "AWS::AutoScaling::ScalingPolicy": Provisioner(_put_scaling_policy, None, _delete_scaling_policy,
                                                   _find_scaling_policy),
    "AWS::CloudWatch::Alarm": Provisioner(_put_alarm, None, _delete_alarm, _find_alarm),
    "AWS::SNS::Subscription": Provisioner(_subscribe, _resubscribe, _unsubscribe),
}
# Types moto makes, with properties it ignores: completed after moto made (or changed) them.
COMPLETERS: dict[str, Provisioner] = {
    "AWS::IAM::User": Provisioner(_link_user, _relink_user, None),
    "AWS::S3::Bucket": Provisioner(_bucket_settings, None, None),
}
SKIPPED_TYPES = tuple(PROVISIONERS)
