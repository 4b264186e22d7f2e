"""Custom resources on the emulator: the emulator runs no Lambda code, so each request
(Create, Update, Delete) is sent here by running the real handler of the resource's ServiceToken
function in this process. The handler PUTs its answer to the emulator's cfnresponse endpoint, as
it would to CloudFormation's presigned URL."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DeployError, NcapError
from .context import StackContext
from .functions import function_spec, invoke, read_template
from .intrinsics import resolve

CUSTOM = "Custom::"


def is_custom(resource: dict) -> bool:
    return str(resource.get("Type", "")).startswith(CUSTOM) or \
        resource.get("Type") == "AWS::CloudFormation::CustomResource"


@dataclass(frozen=True)
class Request:
    kind: str  # Create, Update or Delete
    logical_id: str
    resource: dict  # as in the (translated) template
    context: StackContext  # what the properties resolve against
    physical_id: str | None = None  # Update and Delete: what the Create answered
    old_resource: dict | None = None  # Update: the resource before
    old_context: StackContext | None = None


def response_url(endpoint: str, region: str, stack_id: str) -> str:
    return f"{endpoint}/cloudformation_{region}/cfnresponse?stack={stack_id}"


def event(request: Request, stack_id: str, endpoint: str) -> dict:
    """The request as CloudFormation sends it to the function behind ServiceToken."""
    context, props = request.context, request.resource["Properties"]
    made = {"RequestType": request.kind, "ServiceToken": resolve(props["ServiceToken"], context),
            "ResponseURL": response_url(endpoint, context.region, stack_id), "StackId": stack_id,
            "RequestId": f"ncap-{request.kind.lower()}-{request.logical_id}",
            "LogicalResourceId": request.logical_id, "ResourceType": request.resource["Type"],
            "ResourceProperties": resolve(props, context)}
    if request.kind != "Create":
        made["PhysicalResourceId"] = request.physical_id or request.logical_id
    if request.kind == "Update" and request.old_resource is not None:
        made["OldResourceProperties"] = resolve(request.old_resource["Properties"],
                                                request.old_context or context)
    return made


def service_function(resource: dict, context: StackContext, sam_template: Path) -> str:
    """The logical id, in the SAM template, of the function a custom resource's ServiceToken
    names: Fn::GetAtt F.Arn in the same template, or (in a nested template) the ARN a parameter
    passes in, found by its function name."""
    token = resource["Properties"]["ServiceToken"]
    target = token.get("Fn::GetAtt") if isinstance(token, dict) else None
    if target is not None:
        return target.split(".")[0] if isinstance(target, str) else target[0]
    name = str(resolve(token, context)).rsplit(":", 1)[-1]
    functions = read_template(sam_template).get("Resources", {})
    for logical_id, function in functions.items():
        if (function.get("Properties") or {}).get("FunctionName") == name:
            return logical_id
    raise DeployError(f"custom resource: ServiceToken {token!r} names no function of {sam_template}")


FunctionSettings = Callable[[str], dict]  # a function's name -> the AWS settings its handler runs with


def send(request: Request, aws: Any, stack_id: str, sam_template: Path,
         as_function: FunctionSettings | None = None) -> str:
    """Run the handler for one request; the physical id it answered. DeployError when it does
    not answer SUCCESS."""
    logical_id = service_function(request.resource, request.context, sam_template)
    spec = function_spec(sam_template, logical_id, {logical_id: _resolved_environment(sam_template, logical_id,
                                                                                     request.context)})
    settings = environment(aws) if as_function is None else as_function(spec.name)
    outcome = invoke(spec, event(request, stack_id, aws.endpoint), aws.region, settings)
    answer = outcome.result if outcome.ok and isinstance(outcome.result, dict) else {}
    if answer.get("Status") != "SUCCESS":
        reason = answer.get("Reason") or (outcome.error or {}).get("errorMessage") or "no answer"
        raise DeployError(f"custom resource {request.logical_id} ({request.kind}) failed on the emulator: {reason}")
    return str(answer.get("PhysicalResourceId") or request.physical_id or request.logical_id)


def _resolved_environment(sam_template: Path, logical_id: str, context: StackContext) -> dict:
    """The function's variables with Ref/GetAtt resolved to the stack's resources (what Lambda
    gets from CloudFormation); the ones that cannot be resolved are left out."""
    props = read_template(sam_template).get("Resources", {}).get(logical_id, {}).get("Properties") or {}
    found = {}
    for name, value in ((props.get("Environment") or {}).get("Variables") or {}).items():
        try:
            found[name] = resolve(value, context)
        except NcapError:
            continue
    return found


def environment(aws: Any) -> dict:
    """The AWS settings a handler run for the emulator uses: its endpoint, region and, when the
    `Aws` has them, its credentials."""
    settings = {"AWS_ENDPOINT_URL": aws.endpoint, "AWS_REGION": aws.region, "AWS_DEFAULT_REGION": aws.region}
    if aws.credentials:
        settings.update(AWS_ACCESS_KEY_ID=aws.credentials[0], AWS_SECRET_ACCESS_KEY=aws.credentials[1])
    return settings
