"""Resolve CloudFormation intrinsics (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Base64, Fn::GetAZs)
against a stack on the emulator, for the resources the local cloud creates itself."""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from ..errors import NcapError

_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]+)\}")


@dataclass(frozen=True)
class StackContext:
    region: str
    account: str
    stack_name: str
    physical_ids: dict  # logical id -> physical id
    types: dict  # logical id -> resource type

    @property
    def pseudo(self) -> dict:
        return {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": "aws",
                "AWS::StackName": self.stack_name, "AWS::URLSuffix": "amazonaws.com"}

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name not in self.physical_ids:
            raise NcapError(f"local cloud: the stack has no resource {name}")
        return self.physical_ids[name]

    def get_att(self, name: str, attribute: str) -> str:
        physical, kind = self.ref(name), self.types.get(name, "")
        arn = f"arn:aws:%s:{self.region}:{self.account}:%s"
        attributes = {
            ("AWS::SQS::Queue", "Arn"): lambda: arn % ("sqs", physical.rsplit("/", 1)[-1]),
            ("AWS::SQS::Queue", "QueueName"): lambda: physical.rsplit("/", 1)[-1],
            ("AWS::Lambda::Function", "Arn"): lambda: arn % ("lambda", f"function:{physical}"),
            ("AWS::IAM::Role", "Arn"): lambda: f"arn:aws:iam::{self.account}:role/{physical}",
            ("AWS::IAM::InstanceProfile", "Arn"): lambda: f"arn:aws:iam::{self.account}:instance-profile/{physical}",
            ("AWS::S3::Bucket", "Arn"): lambda: f"arn:aws:s3:::{physical}",
            ("AWS::EC2::LaunchTemplate", "LatestVersionNumber"): lambda: "1",
        }
        if (kind, attribute) not in attributes:
            raise NcapError(f"local cloud: cannot resolve {name}.{attribute} ({kind})")
        return attributes[(kind, attribute)]()


def resolve(value, context: StackContext):
    if isinstance(value, list):
        return [resolve(v, context) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, argument), = value.items()
        function = _FUNCTIONS.get(key)
        if function:
            return function(argument, context)
    return {k: resolve(v, context) for k, v in value.items()}


def _get_att(argument, context: StackContext) -> str:
    name, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
    return context.get_att(name, resolve(attribute, context))


def _sub(argument, context: StackContext) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    values = {k: resolve(v, context) for k, v in variables.items()}

    def replace(match: re.Match) -> str:
        literal, name = match.groups()
        if literal:
            return "${" + name + "}"
        if name in values:
            return str(values[name])
        return context.get_att(*name.split(".", 1)) if "." in name else context.ref(name)

    return _SUB_VARIABLE.sub(replace, text)


def _join(argument, context: StackContext) -> str:
    separator, parts = argument
    return separator.join(str(p) for p in resolve(parts, context))


_FUNCTIONS = {
    "Ref": lambda argument, context: context.ref(argument),
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Base64": lambda argument, context: base64.b64encode(str(resolve(argument, context)).encode()).decode(),
    "Fn::GetAZs": lambda argument, context: [f"{context.region}{z}" for z in "abc"],
}
