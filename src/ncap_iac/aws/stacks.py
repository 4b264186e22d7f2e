"""Reading a deployed stack: its status, resources, template and outputs; waiting until it
settles. For deploy/ (on AWS or an emulator) and the local cloud alike."""
from __future__ import annotations

import time
from typing import Any

from ..errors import NcapError
from .errors import aws_errors, error_message, explain

BUSY_SUFFIX = "_IN_PROGRESS"


def describe_stack(cfn, name: str) -> dict | None:
    """The stack, or None when there is none of that name."""
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except aws_errors() as exc:
        if "does not exist" in error_message(exc):
            return None
        raise explain(exc, f"cannot read stack {name}") from None


def stack_resources(cfn, stack_name: str) -> dict:
    """logical id -> physical id of the stack's resources ({} when there is no stack)."""
    try:
        pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                for page in pages for r in page["StackResourceSummaries"] if r["LogicalResourceId"]}
    except aws_errors() as exc:
        if "does not exist" in error_message(exc):
            return {}
        raise explain(exc, f"cannot list the resources of {stack_name}") from None


def deployed_template(cfn, stack_name: str) -> dict:
    """The template the stack runs now ({} when there is none)."""
    from samtranslator.yaml_helper import yaml_parse  # JSON, or YAML with CloudFormation's tags

    try:
        body = cfn.get_template(StackName=stack_name)["TemplateBody"]
    except aws_errors() as exc:
        if "does not exist" in error_message(exc):
            return {}
        raise explain(exc, f"cannot read the template of {stack_name}") from None
    return yaml_parse(body) if isinstance(body, str) else dict(body)


def outputs(stack: dict) -> dict:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def wait_settled(cfn: Any, stack_id: str, timeout: float, interval: float = 0.1) -> dict:
    """The stack once no longer in progress; NcapError if that takes longer than `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        if not stack["StackStatus"].endswith(BUSY_SUFFIX):
            return stack
        if time.monotonic() > deadline:
            raise NcapError(f"stack {stack['StackName']} is still {stack['StackStatus']} after {timeout:.0f} s")
        time.sleep(interval)
