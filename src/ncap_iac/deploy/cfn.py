"""CloudFormation through boto3: the stack's state, change sets (create, wait, list their changes,
execute, delete) and stack deletion. Waiting is done here by polling, at a pace the caller sets."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ..aws.errors import aws_errors, explain
from ..aws.stacks import BUSY_SUFFIX, describe_stack
from ..compiler import CAPABILITIES
from ..errors import DeployError, NcapError

NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
GONE_AFTER_FAILED_CREATE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED")


@dataclass(frozen=True)
class Poll:
    """How often and how long to wait; the emulator answers at once, CloudFormation takes minutes."""

    interval: float = 5.0
    timeout: float = 3600.0

    def sleep(self) -> None:
        time.sleep(self.interval)


@dataclass(frozen=True)
class ChangeSet:
    id: str
    name: str
    stack_id: str
    kind: str  # CREATE or UPDATE


def change_set_kind(stack: dict | None, name: str) -> str:
    """CREATE for a new stack (or one left in review by an unexecuted change set), else UPDATE;
    refuses a stack that is busy or that must be deleted first."""
    if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        return "CREATE"
    status = stack["StackStatus"]
    if status.endswith(BUSY_SUFFIX):
        raise NcapError(f"stack {name} is busy ({status}); wait until it settles and try again")
    if status in GONE_AFTER_FAILED_CREATE:
        raise NcapError(f"stack {name} is {status} after a failed first deployment: nothing of it is "
                        f"in use; remove it with `ncap delete` and deploy again")
    return "UPDATE"


def change_set_name(now: datetime | None = None) -> str:
    return "ncap-" + (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")


def create_change_set(cfn, stack_name: str, source: dict, kind: str, description: str,
                      tags: dict | None = None, parameters: dict | None = None) -> ChangeSet | None:
    """The change set made; None when the target refuses it for holding no change (an emulator
    does that where AWS makes a change set that fails for the same reason)."""
    name = change_set_name()
    tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    values = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted((parameters or {}).items())]
    try:
        answer = cfn.create_change_set(StackName=stack_name, ChangeSetName=name, ChangeSetType=kind,
                                       Capabilities=list(CAPABILITIES), Description=description[:1024],
                                       Tags=tag_list, Parameters=values, **source)
    except aws_errors() as exc:
        if any(marker in str(exc) for marker in NO_CHANGES):
            return None
        raise explain(exc, f"CloudFormation refused the change set for {stack_name}") from None
    return ChangeSet(answer["Id"], name, answer["StackId"], kind)


def wait_change_set(cfn, change_set: ChangeSet, poll: Poll) -> dict | None:
    """The described change set once ready; None when it holds no changes; DeployError if failed."""
    deadline = time.monotonic() + poll.timeout
    while True:
        described = cfn.describe_change_set(ChangeSetName=change_set.id)
        status, reason = described["Status"], described.get("StatusReason", "")
        if status == "CREATE_COMPLETE":
            return described
        if status == "FAILED":
            if any(marker in reason for marker in NO_CHANGES):
                return None
            raise DeployError(f"the change set failed: {reason or 'no reason given'}")
        if time.monotonic() > deadline:
            raise DeployError(f"the change set is still {status} after {poll.timeout:.0f} s")
        poll.sleep()


def all_changes(cfn, change_set: ChangeSet, first_page: dict) -> list[dict]:
    """Every ResourceChange of the change set (it comes in pages)."""
    changes, page = [], first_page
    while True:
        changes += [c["ResourceChange"] for c in page.get("Changes", []) if c.get("Type", "Resource") == "Resource"]
        token = page.get("NextToken")
        if not token:
            return changes
        page = cfn.describe_change_set(ChangeSetName=change_set.id, NextToken=token)


def delete_change_set(cfn, change_set: ChangeSet) -> None:
    """Remove an unexecuted change set, and the empty stack a CREATE change set leaves behind."""
    cfn.delete_change_set(ChangeSetName=change_set.id)
    if change_set.kind == "CREATE":
        stack = describe_stack(cfn, change_set.stack_id)
        if stack and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            cfn.delete_stack(StackName=change_set.stack_id)


def execute_change_set(cfn, change_set: ChangeSet) -> str | None:
    """Start the change; the error text when CloudFormation (or an emulator doing it all at once)
    refuses or fails it straight away, else None."""
    try:
        cfn.execute_change_set(ChangeSetName=change_set.id)
    except aws_errors() as exc:
        return explain(exc, "executing the change set").args[0]
    return None


def delete_stack(cfn, stack_id: str) -> str | None:
    try:
        cfn.delete_stack(StackName=stack_id)
    except aws_errors() as exc:
        return explain(exc, "deleting the stack").args[0]
    return None
