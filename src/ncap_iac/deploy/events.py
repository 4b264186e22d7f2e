"""Following a stack's events until it settles, with a progress count, and telling what failed."""
from __future__ import annotations

import time
from dataclasses import dataclass

from ..aws.errors import aws_errors
from ..errors import DeployError
from .cfn import BUSY_SUFFIX, Poll

SUCCESS = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}
ROLLED_BACK = {
    "ROLLBACK_COMPLETE": "CloudFormation rolled the first deployment back: nothing of it remains in use. "
                         "Fix the cause, then `ncap delete` the stack and deploy again",
    "UPDATE_ROLLBACK_COMPLETE": "CloudFormation rolled the update back: the previous version runs unchanged",
    "ROLLBACK_FAILED": "the rollback failed too: some resources may remain; see the reasons above, "
                       "then `ncap delete` the stack",
    "UPDATE_ROLLBACK_FAILED": "the rollback failed too: the stack needs `aws cloudformation "
                              "continue-update-rollback` once the cause is fixed",
}


@dataclass(frozen=True)
class Settled:
    stack: dict
    failures: list  # the *_FAILED events of this operation, oldest first

    @property
    def status(self) -> str:
        return self.stack["StackStatus"]


def seen_event_ids(cfn, stack_id: str) -> set:
    """The events already there, so that following shows only the ones this operation makes."""
    try:
        return {e["EventId"] for e in _events_newest_first(cfn, stack_id, set())}
    except aws_errors():  # a stack that does not exist has no events to skip
        return set()


def follow(cfn, stack_id: str, seen: set, expected: int, poll: Poll, say) -> Settled:
    """Print each new event with a done/expected count until the stack is no longer in progress."""
    deadline = time.monotonic() + poll.timeout
    done: set = set()
    failures: list = []
    while True:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]  # before the events: none missed
        for event in reversed(_events_newest_first(cfn, stack_id, seen)):
            seen.add(event["EventId"])
            _account(event, stack_id, done, failures)
            say(_line(event, len(done), expected))
        if _settled(stack["StackStatus"]):
            return Settled(stack, failures)
        if time.monotonic() > deadline:
            raise DeployError(f"the stack is still {stack['StackStatus']} after {poll.timeout:.0f} s; "
                              f"it goes on without us: check it in the console or run this command again")
        poll.sleep()


def _settled(status: str) -> bool:
    return not status.endswith(BUSY_SUFFIX)


def _events_newest_first(cfn, stack_id: str, seen: set) -> list:
    events: list = []
    token = None
    while True:
        page = cfn.describe_stack_events(StackName=stack_id, **({"NextToken": token} if token else {}))
        for event in page["StackEvents"]:
            if event["EventId"] in seen:
                return events
            events.append(event)
        token = page.get("NextToken")
        if not token:
            return events


def _account(event: dict, stack_id: str, done: set, failures: list) -> None:
    status = event["ResourceStatus"]
    if event.get("PhysicalResourceId") != stack_id and status.endswith("_COMPLETE"):
        done.add(event["LogicalResourceId"])
    if status.endswith("_FAILED"):
        failures.append(event)


def _line(event: dict, done: int, expected: int) -> str:
    width = len(str(expected))
    when = event["Timestamp"].strftime("%H:%M:%S") if hasattr(event["Timestamp"], "strftime") else ""
    reason = event.get("ResourceStatusReason") or ""
    text = f"  [{done:>{width}}/{expected}] {when} {event['ResourceStatus']:<28} " \
           f"{event['LogicalResourceId']} ({event['ResourceType']})"
    return f"{text}: {reason}" if reason and reason != "User Initiated" else text


def check(settled: Settled, operation: str, say) -> None:
    """Say how it ended; DeployError naming each failing resource and the rollback if it failed."""
    if settled.status in SUCCESS:
        say(f"{operation}: {settled.status}")
        return
    for event in settled.failures:
        say(f"  failed: {event['LogicalResourceId']} ({event['ResourceType']}): "
            f"{event.get('ResourceStatusReason') or 'no reason given'}")
    reason = settled.stack.get("StackStatusReason")
    outcome = ROLLED_BACK.get(settled.status, f"the stack is {settled.status}")
    raise DeployError(f"{operation} failed ({settled.status}{': ' + reason if reason else ''}); {outcome}")
