"""A stack's context for resolving intrinsics: region, account, name, and each resource's type and
physical id. Made from a live stack on the emulator, or (for simulated events) from a template
alone, with plausible deployed values derived from the names the template gives."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import NcapError
from ..regions import partition

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
# (resource type, name property, physical id made from the name) for placeholder contexts
_PLACEHOLDER_IDS = {
    "AWS::SQS::Queue": ("QueueName", "https://sqs.{region}.amazonaws.com/{account}/{name}"),
    "AWS::SNS::Topic": ("TopicName", "arn:{partition}:sns:{region}:{account}:{name}"),
    "AWS::S3::Bucket": ("BucketName", "{name}"),
    "AWS::Serverless::Function": ("FunctionName", "{name}"),
    "AWS::Lambda::Function": ("FunctionName", "{name}"),
    "AWS::IAM::Role": ("RoleName", "{name}"),
    "AWS::IAM::Group": ("GroupName", "{name}"),
}


@dataclass(frozen=True)
class StackContext:
    region: str
    account: str
    stack_name: str
    physical_ids: dict  # logical id -> physical id
    types: dict  # logical id -> resource type

    @property
    def partition(self) -> str:
        return partition(self.region)

    @property
    def pseudo(self) -> dict:
        return {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": self.partition,
                "AWS::StackName": self.stack_name, "AWS::URLSuffix": "amazonaws.com",
                "AWS::NoValue": None}

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name not in self.physical_ids:
            raise NcapError(f"the stack has no resource {name} (Ref {name})")
        return self.physical_ids[name]

    def get_att(self, name: str, attribute: str) -> str:
        physical, kind = self.ref(name), self.types.get(name, "")
        if kind == "AWS::Serverless::Function":
            kind = "AWS::Lambda::Function"
        make = _ATTRIBUTES.get((kind, attribute))
        if make is None:
            raise NcapError(f"cannot resolve {name}.{attribute} ({kind or 'unknown type'})")
        return make(self, str(physical))

    def with_resources(self, physical_ids: dict, types: dict) -> StackContext:
        """This context with more (or other) resources."""
        return StackContext(self.region, self.account, self.stack_name, {**self.physical_ids, **physical_ids},
                            {**self.types, **types})


def _arn(context: StackContext, service: str, resource: str, regional: bool = True) -> str:
    where = f"{context.region}:{context.account}" if regional else f":{context.account}"
    return f"arn:{context.partition}:{service}:{where}:{resource}"


_ATTRIBUTES = {
    ("AWS::SQS::Queue", "Arn"): lambda c, p: _arn(c, "sqs", p.rsplit("/", 1)[-1]),
    ("AWS::SQS::Queue", "QueueName"): lambda c, p: p.rsplit("/", 1)[-1],
    ("AWS::SQS::Queue", "QueueUrl"): lambda c, p: p,
    ("AWS::SNS::Topic", "TopicArn"): lambda c, p: p,
    ("AWS::SNS::Topic", "TopicName"): lambda c, p: p.rsplit(":", 1)[-1],
    ("AWS::Lambda::Function", "Arn"): lambda c, p: _arn(c, "lambda", f"function:{p}"),
    ("AWS::IAM::Role", "Arn"): lambda c, p: f"arn:{c.partition}:iam::{c.account}:role/{p}",
    ("AWS::IAM::Group", "Arn"): lambda c, p: f"arn:{c.partition}:iam::{c.account}:group/{p}",
    ("AWS::IAM::InstanceProfile", "Arn"): lambda c, p: f"arn:{c.partition}:iam::{c.account}:instance-profile/{p}",
    ("AWS::S3::Bucket", "Arn"): lambda c, p: f"arn:{c.partition}:s3:::{p}",
    ("AWS::EC2::LaunchTemplate", "LatestVersionNumber"): lambda c, p: "1",
    ("AWS::CloudFormation::Stack", "Arn"): lambda c, p: p,
    ("AWS::Cognito::UserPool", "Arn"): lambda c, p: _arn(c, "cognito-idp", f"userpool/{p}"),
    ("AWS::Cognito::UserPool", "ProviderName"): lambda c, p: f"cognito-idp.{c.region}.amazonaws.com/{p}",
}


def types_of(template: dict) -> dict:
    return {k: r["Type"] for k, r in template.get("Resources", {}).items()}


def placeholder_context(template: dict, region: str, account: str, stack_name: str) -> StackContext:
    """A context for a template that is not deployed: each named resource's physical id is the
    value AWS would give it (a queue's URL, a topic's ARN, a bucket's name, ...)."""
    physical = {}
    for logical_id, resource in template.get("Resources", {}).items():
        name_property, pattern = _PLACEHOLDER_IDS.get(resource.get("Type"), (None, None))
        name = (resource.get("Properties") or {}).get(name_property) if name_property else None
        if pattern and isinstance(name, str):
            physical[logical_id] = pattern.format(name=name, partition=partition(region), region=region,
                                                  account=account)
    return StackContext(region, account, stack_name, physical, types_of(template))


def named_resources(template: dict) -> dict:
    """Physical ids of resources whose id is the name the template gives them (moto lists no
    physical id for the resource types its CloudFormation skips, such as groups)."""
    return {k: r["Properties"]["GroupName"] for k, r in template.get("Resources", {}).items()
            if r["Type"] == "AWS::IAM::Group" and isinstance(r.get("Properties", {}).get("GroupName"), str)}


def stack_parameters(aws: Any, stack_id: str) -> dict:
    """The stack's parameter values (what Ref of a parameter gives); {} for a stack that is gone."""
    from ..aws.stacks import describe_stack

    stack = describe_stack(aws.cloudformation, stack_id) or {}
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters") or []}


def live_context(aws: Any, stack_id: str, template: dict) -> StackContext:
    """The context of a stack on the emulator now: its resources' physical ids as listed, plus
    those of the named resources moto does not list."""
    from ..aws.stacks import stack_resources

    physical = {**named_resources(template), **stack_resources(aws.cloudformation, stack_id),
                **stack_parameters(aws, stack_id)}
    name = stack_id.split("/")[1] if "/" in stack_id else stack_id
    return StackContext(aws.region, aws.account(), name, physical, types_of(template))
