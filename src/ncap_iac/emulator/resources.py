"""The ARN a non-S3 request acts on, as AWS authorizes it.

moto asks for every non-S3 request whether the caller may act on `*`, so a statement that names
its queue, topic, role or group would never match. For the requests the product's roles make, the
resource is in the request itself: an SQS QueueUrl, an SNS TopicArn, an sts:AssumeRole RoleArn,
an IAM user's or group's name, an Auto Scaling group's name, a Secrets Manager SecretId or
Name, an SSM parameter's Name or Path, a Cognito UserPoolId, an SES email's Source. Other requests stay on `*` (only
statements for `*` allow them), which is stricter than AWS, never looser.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

# The group's id is part of an Auto Scaling group's ARN; policies name it with `*`.
GROUP_ID = "00000000-0000-0000-0000-000000000000"


def parameter(iam_request: Any, name: str) -> str | None:
    """A request parameter, from the form or query (Query protocol) or the JSON body."""
    data = getattr(iam_request, "_data", None)
    if isinstance(data, dict) and name in data:
        value = data[name]
        return str(value[0] if isinstance(value, list) else value) if value else None
    body = getattr(iam_request, "_body", None)
    if body:
        try:
            document = json.loads(body)
        except (TypeError, ValueError):
            return None
        if isinstance(document, dict) and isinstance(document.get(name), str):
            return document[name]
    return None


def queue_arn(url: str, region: str, account: str) -> str:
    path = [part for part in urlsplit(url).path.split("/") if part]
    owner, name = (path[-2], path[-1]) if len(path) >= 2 else (account, path[-1] if path else url)
    return f"arn:aws:sqs:{region}:{owner}:{name}"


def secret_arn(secret_id: str, region: str, account: str) -> str:
    if secret_id.startswith("arn:"):
        return secret_id
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{secret_id}"


def resource_arn(iam_request: Any) -> str | None:
    """The ARN the request acts on, when the product's requests carry it; else None."""
    service, action = iam_request._service, iam_request._action
    region, account = iam_request._region, iam_request.account_id
    if service == "sqs" and action != "sqs:ListQueues":
        url = parameter(iam_request, "QueueUrl")
        return queue_arn(url, region, account) if url else None
    if service == "sns":
        return parameter(iam_request, "TopicArn") or parameter(iam_request, "TargetArn")
    if action == "sts:AssumeRole":
        return parameter(iam_request, "RoleArn")
    if service == "autoscaling":
        group = parameter(iam_request, "AutoScalingGroupName") or _group_of(iam_request)
        return (f"arn:aws:autoscaling:{region}:{account}:autoScalingGroup:{GROUP_ID}:autoScalingGroupName/{group}"
                if group else None)
    if service == "iam":
        return iam_arn(iam_request, account)
    if service == "ssm":
        name = parameter(iam_request, "Name") or parameter(iam_request, "Path")
        return f"arn:aws:ssm:{region}:{account}:parameter/{name.strip('/')}" if name else None
    if service == "ses" and action in ("ses:SendEmail", "ses:SendRawEmail"):
        source = parameter(iam_request, "Source")
        return f"arn:aws:ses:{region}:{account}:identity/{source}" if source else None
    if service == "cognito-idp":
        pool = parameter(iam_request, "UserPoolId")
        return f"arn:aws:cognito-idp:{region}:{account}:userpool/{pool}" if pool else None
    if service == "secretsmanager":
        secret = parameter(iam_request, "SecretId") or parameter(iam_request, "Name")  # Name: CreateSecret
        return secret_arn(secret, region, account) if secret else None
    return None


def iam_arn(iam_request: Any, account: str) -> str | None:
    """A group's ARN for requests naming a group (AWS authorizes AddUserToGroup on the group), else
    a user's, with the path IAM keeps for it (or the Path a CreateUser gives)."""
    group, user = parameter(iam_request, "GroupName"), parameter(iam_request, "UserName")
    backend = getattr(iam_request, "backend", None)
    if group:
        found = getattr(backend, "groups", {}).get(group)
        return f"arn:aws:iam::{account}:group{getattr(found, 'path', '/')}{group}"
    if user:
        found = getattr(backend, "users", {}).get(user)
        path = getattr(found, "path", None) or parameter(iam_request, "Path") or "/"
        return f"arn:aws:iam::{account}:user{path}{user}"
    return None


def _group_of(iam_request: Any) -> str | None:
    """The group of the instance a request names (TerminateInstanceInAutoScalingGroup names only
    the instance; AWS authorizes it on the instance's group)."""
    instance = parameter(iam_request, "InstanceId")
    if not instance:
        return None
    from moto.autoscaling.models import autoscaling_backends

    backend = autoscaling_backends[iam_request.account_id][iam_request._region]
    for name, group in backend.autoscaling_groups.items():
        if any(state.instance.id == instance for state in group.instance_states):
            return name
    return None
