"""A pipeline whose labs sign in to a directory: one member role, trusted by the directory
function's role alone and only for sessions tagged with a lab, whose policy (evaluated here by the
emulator's policy engine, the one its IAM enforcement uses) reaches the tagged lab's folders as a lab
group does and nothing else; and its registration, which names that role."""
import json

import pytest

from ncap_iac import names
from ncap_iac.emulator.context import placeholder_context
from ncap_iac.emulator.intrinsics import resolve
from ncap_iac.emulator.policy import Caller, Request, decide, parse_document

from factories import minimal_config

ACCOUNT = "123456789012"
BUCKET = "test-pipeline"


@pytest.fixture
def compiled(compile_doc):
    document = minimal_config(Access={"Directory": "people"})
    document["UXData"]["Affiliates"] = [{"AffiliateName": "lab-a", "UserNames": ["ann@example.org"]},
                                        {"AffiliateName": "lab-b", "UserNames": []}]
    return compile_doc(document)


@pytest.fixture
def budgeted(compile_doc):
    document = minimal_config(Access={"Directory": "people"}, Budgets={"PerLabMonthlyUSD": 40})
    document["UXData"]["Affiliates"] = [{"AffiliateName": "lab-a", "UserNames": []},
                                        {"AffiliateName": "lab-b", "UserNames": [], "MaxCost": 12.5},
                                        {"AffiliateName": "lab-c", "UserNames": [], "MaxCost": 40}]
    return compile_doc(document)


def member_decides(compiled, action, resource, **context):
    """The emulator's decision for a session of the member role tagged lab-a."""
    role = resolved(compiled, names.MEMBER_ROLE)
    policies = [parse_document(p["PolicyDocument"]) for p in role["Policies"]]
    caller = Caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/{BUCKET}-members/ann",
                    f"arn:aws:iam::{ACCOUNT}:role/ncap-directory/people/{BUCKET}-members", ACCOUNT)
    asked = Request(action, resource, {"aws:principaltag/ncap-lab": ("lab-a",),
                                       **{k.replace("_", ":"): (v,) for k, v in context.items()}})
    return decide(asked, policies, None, None, caller)


def resolved(compiled, logical_id):
    context = placeholder_context(compiled.template, "us-east-1", ACCOUNT, BUCKET)
    return resolve(compiled.template["Resources"][logical_id]["Properties"], context)


def test_no_iam_user_group_or_users_function(compiled):
    types = {r["Type"] for r in compiled.template["Resources"].values()}
    assert not types & {"AWS::IAM::User", "AWS::IAM::Group"}
    assert names.USERS_FUNCTION not in compiled.template["Resources"]
    assert names.USER_SECRETS_OUTPUT not in compiled.template["Outputs"]
    assert compiled.template["Outputs"][names.DIRECTORY_OUTPUT]["Value"] == "people"


def test_the_member_role_trusts_only_the_directory_function_with_a_lab_tag(compiled):
    role = resolved(compiled, names.MEMBER_ROLE)
    assert role["RoleName"] == f"{BUCKET}-members" and role["Path"] == "/ncap-directory/people/"
    assert role["MaxSessionDuration"] == 3600
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ncap-directory/people/people-directory"}
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert trust["Condition"] == {"StringLike": {"aws:RequestTag/ncap-lab": "?*"},
                                  "ForAllValues:StringEquals": {"aws:TagKeys": ["ncap-lab"]}}


@pytest.mark.parametrize("action, key, allowed", [
    ("s3:PutObject", "lab-a/inputs/x.csv", True), ("s3:PutObject", "lab-a/configs/c.json", True),
    ("s3:PutObject", "lab-a/submissions/1_submit.json", True), ("s3:GetObject", "lab-a/results/job_1/a.txt", True),
    ("s3:PutObject", "lab-b/inputs/x.csv", False), ("s3:GetObject", "lab-b/inputs/x.csv", False),
    ("s3:PutObject", "lab-a/results/job_1/a.txt", False), ("s3:DeleteObject", "lab-a/inputs/x.csv", False),
    ("s3:GetObject", "lab-ab/inputs/x.csv", False)])
def test_a_session_tagged_lab_a_reaches_lab_a_only(compiled, action, key, allowed):
    role = resolved(compiled, names.MEMBER_ROLE)
    policies = [parse_document(p["PolicyDocument"]) for p in role["Policies"]]
    caller = Caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/{BUCKET}-members/ann",
                    f"arn:aws:iam::{ACCOUNT}:role/ncap-directory/people/{BUCKET}-members", ACCOUNT)
    context = {"aws:principaltag/ncap-lab": ("lab-a",)}  # as the emulator gives a session's tag
    asked = Request(action, f"arn:aws:s3:::{BUCKET}/{key}", context)
    assert decide(asked, policies, None, None, caller) is allowed


@pytest.mark.parametrize("prefix, allowed", [("lab-a/", True), ("lab-a/inputs/", True), ("lab-b/", False),
                                             ("", False), ("lab", False)])
def test_listing_is_limited_to_the_tagged_labs_prefix(compiled, prefix, allowed):
    role = resolved(compiled, names.MEMBER_ROLE)
    policies = [parse_document(p["PolicyDocument"]) for p in role["Policies"]]
    caller = Caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/{BUCKET}-members/ann",
                    f"arn:aws:iam::{ACCOUNT}:role/ncap-directory/people/{BUCKET}-members", ACCOUNT)
    asked = Request("s3:ListBucket", f"arn:aws:s3:::{BUCKET}",
                    {"aws:principaltag/ncap-lab": ("lab-a",), **({"s3:prefix": (prefix,)} if prefix else {})})
    assert decide(asked, policies, None, None, caller) is allowed


@pytest.mark.parametrize("action, key, allowed", [
    ("s3:GetObject", "ledger/2026-03/lab-a/job-1/0123456789abcdef-1.json", True),
    ("s3:GetObject", "ledger/2026-03/lab-a/instances/i-0abc.json", True),
    ("s3:GetObject", "ledger/2026-03/lab-b/job-1/0123456789abcdef-1.json", False),
    ("s3:GetObject", "ledger/2026-03/lab-b/lab-a/x.json", False),  # a job of lab-b named lab-a
    ("s3:GetObject", "ledger/2026-03/_unattributed/instances/i-0abc.json", False),
    ("s3:GetObject", "ledger/2026/03/lab-a/x.json", False),
    ("s3:GetObject", "ledger/lab-a/x.json", False),
    ("s3:PutObject", "ledger/2026-03/lab-a/job-1/0123456789abcdef-1.json", False),
    ("s3:DeleteObject", "ledger/2026-03/lab-a/job-1/0123456789abcdef-1.json", False)])
def test_a_session_reads_its_own_labs_ledger_only(compiled, action, key, allowed):
    assert member_decides(compiled, action, f"arn:aws:s3:::{BUCKET}/{key}") is allowed


@pytest.mark.parametrize("prefix, allowed", [
    ("ledger/2026-03/lab-a/", True), ("ledger/2026-03/lab-a/job-1/", True),
    ("ledger/2026-03/lab-b/", False), ("ledger/2026-03/lab-b/lab-a/", False), ("ledger/2026-03/", False),
    ("ledger/", False), ("ledger/2026-03/lab-a", False), ("ledger/2026-3/lab-a/", False)])
def test_a_session_lists_its_own_labs_ledger_only(compiled, prefix, allowed):
    assert member_decides(compiled, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", s3_prefix=prefix) is allowed


def test_the_registration_carries_the_labs_budgets(budgeted, compiled):
    value = json.loads(resolved(budgeted, names.DIRECTORY_REGISTRATION)["Value"])
    assert value["budgets_usd"] == {"common": 40.0, "labs": {"lab-b": 12.5}}
    assert json.loads(resolved(compiled, names.DIRECTORY_REGISTRATION)["Value"])["budgets_usd"] == {
        "common": None, "labs": {}}


def test_the_registration_names_the_bucket_labs_folders_and_member_role(compiled):
    parameter = resolved(compiled, names.DIRECTORY_REGISTRATION)
    assert parameter["Name"] == f"/ncap-directory/people/pipelines/{BUCKET}"
    value = json.loads(parameter["Value"])
    assert value == {"bucket": BUCKET, "region": "us-east-1", "labs": ["lab-a", "lab-b"],
                     "budgets_usd": {"common": None, "labs": {}},
                     "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{BUCKET}-members",
                     "folders": {"inputs": "inputs", "configs": "configs", "submissions": "submissions",
                                 "results": "results", "logs": "logs"}}
