"""CloudFormation resolves a dynamic reference such as `{{resolve:ssm:NAME}}` (or
`{{resolve:ssm:NAME:VERSION}}`) in a template's values at each create or update; moto's
CloudFormation keeps it as text. Resolved here from the emulator's Parameter Store before the
template goes to moto. A public AWS parameter the emulator does not carry (moto has Amazon Linux's,
not the Deep Learning AMIs') is answered by a stand-in: an image registered in the emulator's EC2
under the parameter's name, the same one each time."""
from __future__ import annotations

import re
from typing import Any

from ..aws.errors import aws_errors, error_code

REFERENCE = re.compile(r"\{\{resolve:ssm:([^}:]+)(?::(\d+))?\}\}")
STAND_IN_PREFIX = "ncap stand-in for "


def resolve_dynamic_references(template: Any, aws) -> Any:
    """The template with every ssm dynamic reference replaced by its value."""
    if isinstance(template, dict):
        return {key: resolve_dynamic_references(value, aws) for key, value in template.items()}
    if isinstance(template, list):
        return [resolve_dynamic_references(value, aws) for value in template]
    if isinstance(template, str) and "{{resolve:ssm:" in template:
        return REFERENCE.sub(lambda match: parameter_value(aws, match.group(1), match.group(2)), template)
    return template


def parameter_value(aws, name: str, version: str | None = None) -> str:
    ssm = aws.client("ssm")
    try:
        return ssm.get_parameter(Name=f"{name}:{version}" if version else name)["Parameter"]["Value"]
    except aws_errors() as exc:
        if error_code(exc) != "ParameterNotFound" or not name.startswith("/aws/service/"):
            raise
    return stand_in_image(aws, name)


def stand_in_image(aws, parameter: str) -> str:
    ec2, name = aws.client("ec2"), STAND_IN_PREFIX + parameter
    found = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])["Images"]
    if found:
        return found[0]["ImageId"]
    return ec2.register_image(Name=name, RootDeviceName="/dev/xvda", Architecture="x86_64")["ImageId"]
