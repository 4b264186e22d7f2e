"""Create, through the regular AWS APIs, the resources moto's CloudFormation skips (DESIGN.md
section 6), from the same translated template, so every declared resource exists locally."""
from __future__ import annotations

import json
import re

from .resolve import StackContext, resolve

_DYNAMIC_SECRET = re.compile(r"\{\{resolve:secretsmanager:(.+?):SecretString:(\w+)\}\}")


def create_missing(template: dict, context: StackContext, clients) -> dict:
    """Create the skipped resources in dependency order; returns their physical ids by logical id."""
    resources = template["Resources"]
    created: dict[str, str] = {}
    for kind, make in _ORDER:
        for logical_id, resource in sorted(resources.items()):
            if resource["Type"] == kind:
                context.physical_ids[logical_id] = created[logical_id] = make(
                    logical_id, resolve(resource.get("Properties", {}), context), context, clients)
    _user_links(template, context, clients)
    bucket_settings(template, context, clients)
    return created


def _secret(logical_id, props, context, clients) -> str:
    generate = props.get("GenerateSecretString", {})
    value = json.loads(generate.get("SecretStringTemplate", "{}"))
    value[generate.get("GenerateStringKey", "password")] = clients.secretsmanager.get_random_password(
        PasswordLength=generate.get("PasswordLength", 24),
        ExcludeCharacters=generate.get("ExcludeCharacters", ""))["RandomPassword"]
    return clients.secretsmanager.create_secret(Name=props["Name"], SecretString=json.dumps(value),
                                                Description=props.get("Description", ""))["ARN"]


def _group(logical_id, props, context, clients) -> str:
    name = props["GroupName"]
    clients.iam.create_group(GroupName=name)
    for policy in props.get("Policies", []):
        clients.iam.put_group_policy(GroupName=name, PolicyName=policy["PolicyName"],
                                     PolicyDocument=json.dumps(policy["PolicyDocument"]))
    return name


def _user_links(template: dict, context: StackContext, clients) -> None:
    """Group membership and console logins of the users moto created (it ignores both)."""
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::User":
            continue
        props = resolve(resource["Properties"], context)
        for group in props.get("Groups", []):
            clients.iam.add_user_to_group(GroupName=group, UserName=props["UserName"])
        if "LoginProfile" in props:
            password = _dynamic_secret(props["LoginProfile"]["Password"], clients)
            clients.iam.create_login_profile(UserName=props["UserName"], Password=password,
                                             PasswordResetRequired=True)


def _dynamic_secret(reference: str, clients) -> str:
    secret_id, key = _DYNAMIC_SECRET.fullmatch(reference).groups()
    return json.loads(clients.secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"])[key]


def _user_to_group(logical_id, props, context, clients) -> str:
    for user in props["Users"]:  # pre-existing users in the cloud; stand-ins locally
        if not _user_exists(clients, user):
            clients.iam.create_user(UserName=user)
        clients.iam.add_user_to_group(GroupName=props["GroupName"], UserName=user)
    return f"{props['GroupName']}|{','.join(props['Users'])}"


def _user_exists(clients, user: str) -> bool:
    try:
        clients.iam.get_user(UserName=user)
        return True
    except clients.iam.exceptions.NoSuchEntityException:
        return False


# moto evaluates bucket policies on object requests but treats condition operators other than
# StringEquals as always true, so the TLS-only Deny (Bool aws:SecureTransport false) would deny
# every object request on the plain-HTTP emulator. Such statements are left out locally.
EVALUATED_CONDITIONS = {"StringEquals"}
NOT_APPLIED = "not applied on the plain-HTTP emulator: "


def _bucket_policy(logical_id, props, context, clients) -> str:
    document = dict(props["PolicyDocument"])
    kept = [s for s in document["Statement"] if set(s.get("Condition", {})) <= EVALUATED_CONDITIONS]
    left_out = [s.get("Sid", "?") for s in document["Statement"] if s not in kept]
    if kept:
        clients.s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps({**document, "Statement": kept}))
    return NOT_APPLIED + ", ".join(left_out) if left_out else props["Bucket"]


def bucket_settings(template: dict, context: StackContext, clients) -> None:
    """Versioning, lifecycle, public access block and ownership, which moto's CloudFormation
    ignores on AWS::S3::Bucket."""
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::S3::Bucket":
            continue
        props, s3 = resolve(resource["Properties"], context), clients.s3
        name = props["BucketName"]
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        if "OwnershipControls" in props:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
        if "LifecycleConfiguration" in props:
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=_lifecycle(props))


def _lifecycle(props: dict) -> dict:
    """CloudFormation's lifecycle rule shape in the S3 API's words."""
    rules = []
    for rule in props["LifecycleConfiguration"]["Rules"]:
        entry = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "AbortIncompleteMultipartUpload" in rule:
            entry["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
        if "NoncurrentVersionExpiration" in rule:
            entry["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
        rules.append(entry)
    return {"Rules": rules}


def _queue_policy(logical_id, props, context, clients) -> str:
    # applied as written: moto does not evaluate queue policies, so the TLS-only Deny is harmless here
    for url in props["Queues"]:
        clients.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
    return ",".join(props["Queues"])


def _scaling_policy(logical_id, props, context, clients) -> str:
    name = f"{context.stack_name}-{logical_id}"
    answer = clients.autoscaling.put_scaling_policy(PolicyName=name, **props)
    # moto answers without PolicyARN; its policies are found by name
    return answer.get("PolicyARN") or clients.autoscaling.describe_policies(
        AutoScalingGroupName=props["AutoScalingGroupName"], PolicyNames=[name])["ScalingPolicies"][0]["PolicyARN"]


def _alarm(logical_id, props, context, clients) -> str:
    name = props.pop("AlarmName", f"{context.stack_name}-{logical_id}")
    clients.cloudwatch.put_metric_alarm(AlarmName=name, **props)
    return name


def _subscription(logical_id, props, context, clients) -> str:
    attributes = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in props.items()
                  if k in ("FilterPolicy", "FilterPolicyScope")}
    return clients.sns.subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"],
                                 Endpoint=props["Endpoint"], Attributes=attributes,
                                 ReturnSubscriptionArn=True)["SubscriptionArn"]


_ORDER = (
    ("AWS::SecretsManager::Secret", _secret),
    ("AWS::IAM::Group", _group),
    ("AWS::IAM::UserToGroupAddition", _user_to_group),
    ("AWS::S3::BucketPolicy", _bucket_policy),
    ("AWS::SQS::QueuePolicy", _queue_policy),
    ("AWS::AutoScaling::ScalingPolicy", _scaling_policy),
    ("AWS::CloudWatch::Alarm", _alarm),
    ("AWS::SNS::Subscription", _subscription),
)
SKIPPED_TYPES = tuple(kind for kind, _ in _ORDER)
