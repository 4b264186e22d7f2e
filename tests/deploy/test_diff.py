"""What people read: the change-set diff, the stack-event progress, and how a failure is told.
CloudFormation's own answers are given here as data (moto reports neither replacements nor
per-resource events), in the shapes boto3 returns."""
from datetime import UTC, datetime

import pytest

from ncap_iac.deploy import diff, events
from ncap_iac.deploy.cfn import Poll, change_set_kind, change_set_name
from ncap_iac.errors import DeployError, NcapError

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/lab-pipe/1"


def change(action, logical_id, kind, replacement=None, physical=None, details=()):
    found = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": kind, "Details": list(details)}
    if replacement is not None:
        found["Replacement"] = replacement
    if physical:
        found["PhysicalResourceId"] = physical
    return found


CHANGES = [
    change("Remove", "UserBob", "AWS::IAM::User", physical="bob"),
    change("Add", "UserCarol", "AWS::IAM::User"),
    change("Modify", "JobQueue", "AWS::SQS::Queue", "True", details=[
        {"Target": {"Attribute": "Properties", "Name": "FifoQueue", "RequiresRecreation": "Always"}}]),
    change("Modify", "PipelineBucket", "AWS::S3::Bucket", "Conditional", physical="lab-pipe"),
    change("Modify", "SubmitFunction", "AWS::Lambda::Function", "False",
           details=[{"Target": {"Attribute": "Properties", "Name": "Code"}}]),
]


def test_the_diff_lists_every_change_and_calls_out_what_can_lose_data():
    assert diff.render(CHANGES, "lab-pipe", "UPDATE", "ncap-20260101-000000") == [
        "Change set ncap-20260101-000000 (UPDATE of stack lab-pipe): 1 to add, 3 to modify, 1 to remove, "
        "1 replaced, 1 may be replaced",
        "  + Add     UserCarol       AWS::IAM::User",
        "  ! Modify  JobQueue        AWS::SQS::Queue  [FifoQueue (recreates)]  (replaced)",
        "  ! Modify  PipelineBucket  AWS::S3::Bucket  (may be replaced)",
        "  ~ Modify  SubmitFunction  AWS::Lambda::Function  [Code]",
        "  - Remove  UserBob         AWS::IAM::User",
        "Attention:",
        "  ! JobQueue will be REPLACED: a queue: the jobs waiting in it are lost",
        "  ! PipelineBucket (lab-pipe) may be REPLACED: the bucket with every lab's folders and data "
        "(a new, empty bucket is made; the old one keeps the data only if its policy is Retain)",
        "  ! UserBob (bob) will be REMOVED: a lab user: its access keys stop working",
    ]


def test_an_empty_change_set_says_so():
    assert diff.render([], "lab-pipe", "UPDATE", "cs") == ["cs: no changes to stack lab-pipe"]


def test_change_set_kind_follows_the_stack_state():
    assert change_set_kind(None, "p") == "CREATE"
    assert change_set_kind({"StackStatus": "REVIEW_IN_PROGRESS"}, "p") == "CREATE"
    assert change_set_kind({"StackStatus": "UPDATE_ROLLBACK_COMPLETE"}, "p") == "UPDATE"
    with pytest.raises(NcapError, match="stack p is busy \\(UPDATE_IN_PROGRESS\\)"):
        change_set_kind({"StackStatus": "UPDATE_IN_PROGRESS"}, "p")
    with pytest.raises(NcapError, match="ROLLBACK_COMPLETE after a failed first deployment.*ncap delete"):
        change_set_kind({"StackStatus": "ROLLBACK_COMPLETE"}, "p")
    assert change_set_name(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "ncap-20260102-030405"


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
