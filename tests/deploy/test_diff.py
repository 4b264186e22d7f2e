"""What people read before a change: the change-set diff, with what can lose data called out.
CloudFormation's own answers are given here as data (moto reports no replacements), in the
shapes boto3 returns."""
from ncap_iac.deploy import diff


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
