"""The resources moto's CloudFormation skips (groups, group memberships, bucket and queue policies,
scaling policies, alarms, secrets, subscriptions): made through the regular APIs by
ncap_iac.local.gaps when a change adds them, and removed here when a change or a stack deletion
takes them away, so that they do not outlive their stack on the emulator."""
from __future__ import annotations

import json

from .aws import aws_errors, error_code


class _Clients:
    """The attribute-style clients ncap_iac.local.gaps expects (clients.iam, clients.sns, ...)."""

    def __init__(self, aws):
        self._aws = aws

    def __getattr__(self, service: str):
        return self._aws.client(service)


def fill(after: dict, plan: dict, context, aws) -> int:
    """Make the skipped resources a change added (and re-put the modified ones that allow it)."""
    from ..local import gaps

    resources, clients = after["Resources"], _Clients(aws)
    not_twice = ("AWS::IAM::Group", "AWS::SecretsManager::Secret", "AWS::IAM::User")  # made once, never re-put
    wanted = set(plan["added"]) | {n for n in plan["modified"] if resources[n]["Type"] not in not_twice}
    # users: gaps adds them to their groups; buckets: it applies the settings moto's CloudFormation ignores
    kinds = gaps.SKIPPED_TYPES + ("AWS::IAM::User", "AWS::S3::Bucket")
    chosen = {n: r for n, r in resources.items() if n in wanted and r["Type"] in kinds}
    gaps.create_missing({"Resources": chosen}, context, clients)
    for name in plan["modified"]:
        if resources[name]["Type"] == "AWS::IAM::Group":
            _put_group_policies(resources[name]["Properties"], aws.iam)
    return sum(1 for n in chosen if chosen[n]["Type"] in gaps.SKIPPED_TYPES) + \
        sum(1 for n in plan["modified"] if resources[n]["Type"] == "AWS::IAM::Group")


def _put_group_policies(props: dict, iam) -> None:
    for policy in props.get("Policies", []):
        iam.put_group_policy(GroupName=props["GroupName"], PolicyName=policy["PolicyName"],
                             PolicyDocument=json.dumps(policy["PolicyDocument"]))


def remove(resources: dict, names, context, aws) -> int:
    """Remove the skipped resources among `names` that would otherwise outlive their stack."""
    removers = {"AWS::IAM::Group": _remove_group, "AWS::SecretsManager::Secret": _remove_secret,
                "AWS::CloudWatch::Alarm": _remove_alarm, "AWS::SNS::Subscription": _remove_subscription}
    count = 0
    for name in sorted(names):
        remover = removers.get(resources[name]["Type"])
        if remover:
            try:
                remover(name, resources[name].get("Properties", {}), context, aws)
                count += 1
            except aws_errors() as exc:
                if error_code(exc) not in ("NoSuchEntity", "ResourceNotFoundException", "NotFound"):
                    raise
    return count


def _remove_group(name, props, context, aws) -> None:
    iam, group = aws.iam, props["GroupName"]
    for user in iam.get_group(GroupName=group)["Users"]:
        try:
            iam.remove_user_from_group(GroupName=group, UserName=user["UserName"])
        except aws_errors() as exc:  # moto keeps members whose user is already deleted
            if error_code(exc) != "NoSuchEntity":
                raise
    for policy in iam.list_group_policies(GroupName=group)["PolicyNames"]:
        iam.delete_group_policy(GroupName=group, PolicyName=policy)
    iam.delete_group(GroupName=group)


def _remove_secret(name, props, context, aws) -> None:
    aws.client("secretsmanager").delete_secret(SecretId=props["Name"], ForceDeleteWithoutRecovery=True)


def _remove_alarm(name, props, context, aws) -> None:
    from ..local.resolve import resolve

    alarm = resolve(props.get("AlarmName", f"{context.stack_name}-{name}"), context)
    aws.client("cloudwatch").delete_alarms(AlarmNames=[alarm])


def _remove_subscription(name, props, context, aws) -> None:
    from ..local.resolve import resolve

    sns = aws.client("sns")
    for sub in sns.list_subscriptions_by_topic(TopicArn=resolve(props["TopicArn"], context))["Subscriptions"]:
        if sub["Endpoint"] == props["Endpoint"] and sub["Protocol"] == props["Protocol"]:
            sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
