"""CloudFormation quotas a compiled template must respect, checked before anything is written.

The resource count is that of the template after the SAM transform: each AWS::Serverless::Function
becomes a Lambda function (its role is declared by us), plus one Lambda permission per S3 event and
a rule and a permission per EventBridge event.
"""
from __future__ import annotations

from ..errors import TemplateLimitError

MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_TEMPLATE_BYTES = 1_000_000  # a template body read from S3: 1 MB
DIRECT_BODY_BYTES = 51_200  # larger templates must be uploaded to S3 first (sam deploy does)
_EVENT_RESOURCES = {"S3": 1, "EventBridgeRule": 2, "CloudWatchEvent": 2}


def deployed_resource_count(template: dict) -> int:
    count = 0
    for resource in template.get("Resources", {}).values():
        count += 1
        if resource.get("Type") == "AWS::Serverless::Function":
            events = resource.get("Properties", {}).get("Events", {})
            count += sum(_EVENT_RESOURCES.get(e.get("Type"), 1) for e in events.values())
    return count


def problems(template: dict, body: str) -> list[str]:
    """What of the template is over CloudFormation's limits, each in words."""
    found: list[str] = []
    resources = deployed_resource_count(template)
    if resources > MAX_RESOURCES:
        found.append(f"{resources} resources after the SAM transform; CloudFormation allows "
                        f"{MAX_RESOURCES} per stack ({resources - MAX_RESOURCES} too many)")
    outputs = len(template.get("Outputs", {}))
    if outputs > MAX_OUTPUTS:
        found.append(f"{outputs} outputs; CloudFormation allows {MAX_OUTPUTS} "
                        f"({outputs - MAX_OUTPUTS} too many)")
    size = len(body.encode("utf-8"))
    if size > MAX_TEMPLATE_BYTES:
        found.append(f"{size:,} bytes; CloudFormation allows {MAX_TEMPLATE_BYTES:,} "
                        f"({size - MAX_TEMPLATE_BYTES:,} bytes too many)")
    return found


def fits(template: dict, body: str) -> bool:
    return not problems(template, body)


def check_limits(template: dict, body: str, what: str = "the template") -> None:
    found = problems(template, body)
    if found:
        raise TemplateLimitError(f"{what} exceeds CloudFormation's limits: " + "; ".join(found)
                                 + ". Split the labs over several pipelines.")
