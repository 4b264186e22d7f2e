"""What people read while a stack changes: the stack-event progress, and how a failure is told.
CloudFormation's own answers are given here as data (moto reports no per-resource events), in the
shapes boto3 returns."""
from datetime import UTC, datetime

import pytest

from ncap_iac.deploy import events
from ncap_iac.deploy.cfn import Poll
from ncap_iac.errors import DeployError

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/lab-pipe/1"


class FakeCloudFormation:
    """Plays back a stack's events in steps, as describe_stack_events returns them (newest first)."""

    def __init__(self, steps):
        self.steps, self.step, self.published = steps, -1, []

    def describe_stacks(self, StackName):
        self.step = min(self.step + 1, len(self.steps) - 1)
        status, new_events = self.steps[self.step]
        self.published = list(reversed(new_events)) + self.published
        return {"Stacks": [{"StackId": STACK_ID, "StackStatus": status,
                            **({"StackStatusReason": "The following resource(s) failed to create: [UserBob]. "}
                               if "ROLLBACK" in status else {})}]}

    def describe_stack_events(self, StackName, NextToken=None):
        return {"StackEvents": self.published}


def event(number, logical_id, status, kind="AWS::IAM::User", reason=None):
    found = {"EventId": f"e{number}", "LogicalResourceId": logical_id, "ResourceStatus": status,
             "ResourceType": kind, "PhysicalResourceId": STACK_ID if kind.endswith("Stack") else logical_id,
             "Timestamp": datetime(2026, 1, 1, 12, 0, number, tzinfo=UTC)}
    return {**found, **({"ResourceStatusReason": reason} if reason else {})}


def follow(steps):
    lines = []
    settled = events.follow(FakeCloudFormation(steps), STACK_ID, set(), 2, Poll(0, 5), lines.append)
    return settled, lines


def test_following_prints_each_event_with_progress_until_the_stack_settles():
    settled, lines = follow([
        ("CREATE_IN_PROGRESS", [event(1, "lab-pipe", "CREATE_IN_PROGRESS", "AWS::CloudFormation::Stack", "User Initiated"),
                                event(2, "UserAlice", "CREATE_IN_PROGRESS")]),
        ("CREATE_IN_PROGRESS", [event(3, "UserAlice", "CREATE_COMPLETE")]),
        ("CREATE_COMPLETE", [event(4, "GroupLabA", "CREATE_COMPLETE", "AWS::IAM::Group"),
                             event(5, "lab-pipe", "CREATE_COMPLETE", "AWS::CloudFormation::Stack")]),
    ])
    assert lines == [
        "  [0/2] 12:00:01 CREATE_IN_PROGRESS           lab-pipe (AWS::CloudFormation::Stack)",
        "  [0/2] 12:00:02 CREATE_IN_PROGRESS           UserAlice (AWS::IAM::User)",
        "  [1/2] 12:00:03 CREATE_COMPLETE              UserAlice (AWS::IAM::User)",
        "  [2/2] 12:00:04 CREATE_COMPLETE              GroupLabA (AWS::IAM::Group)",
        "  [2/2] 12:00:05 CREATE_COMPLETE              lab-pipe (AWS::CloudFormation::Stack)",
    ]
    said = []
    events.check(settled, "deploy of lab-pipe", said.append)
    assert said == ["deploy of lab-pipe: CREATE_COMPLETE"]


def test_a_failure_names_the_failing_resources_and_the_rollback():
    settled, _ = follow([
        ("CREATE_IN_PROGRESS", [event(1, "UserBob", "CREATE_FAILED", reason="bob already exists")]),
        ("ROLLBACK_IN_PROGRESS", []),
        ("ROLLBACK_COMPLETE", [event(2, "UserAlice", "DELETE_COMPLETE")]),
    ])
    said = []
    with pytest.raises(DeployError) as failure:
        events.check(settled, "deploy of lab-pipe", said.append)
    assert said == ["  failed: UserBob (AWS::IAM::User): bob already exists"]
    assert str(failure.value) == (
        "deploy of lab-pipe failed (ROLLBACK_COMPLETE: The following resource(s) failed to create: [UserBob]. ); "
        "CloudFormation rolled the first deployment back: nothing of it remains in use. Fix the cause, then "
        "`ncap delete` the stack and deploy again")


def test_an_update_rolled_back_says_the_previous_version_runs():
    settled, _ = follow([("UPDATE_ROLLBACK_COMPLETE", [event(1, "JobQueue", "UPDATE_FAILED", "AWS::SQS::Queue", "denied")])])
    with pytest.raises(DeployError, match="UPDATE_ROLLBACK_COMPLETE.*the previous version runs unchanged"):
        events.check(settled, "deploy", lambda line: None)


def test_following_gives_up_after_its_timeout():
    stuck = FakeCloudFormation([("UPDATE_IN_PROGRESS", [])])
    with pytest.raises(DeployError, match="still UPDATE_IN_PROGRESS after 0 s"):
        events.follow(stuck, STACK_ID, set(), 1, Poll(0, 0), lambda line: None)
