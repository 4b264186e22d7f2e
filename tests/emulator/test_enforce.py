"""enforce.py on a real moto server with IAM enforced, through boto3: session policies, conditions,
trust policies, and what moto already got right. The S3-specific checks (bucket policies, copies,
missing keys, DeleteObjects) are test_enforce_s3.py."""

import pytest
from botocore.exceptions import ClientError

from .conftest import ACCOUNT, allow, denied, deny, document

BUCKET = "ncap-enforce"
OBJECTS = f"arn:aws:s3:::{BUCKET}"
LAB_LISTING = allow("s3:ListBucket", OBJECTS, Condition={"StringLike": {"s3:prefix": ["lab-a/", "lab-a/*"]}})
ANYONE_HERE = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}


def get(s3, key):
    return lambda: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def put(s3, key):
    return lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")


@pytest.fixture
def bucket(enforced):
    enforced.bucket(BUCKET, "lab-a/inputs/a.csv", "lab-b/inputs/b.csv", "home/alice/notes.txt", "home/bob/notes.txt")
    return enforced


# --- session policies ---------------------------------------------------------------------------

@pytest.fixture
def job_role(bucket):
    """A role that reads and writes the whole bucket, and a user allowed to assume it."""
    arn = bucket.role("job", ANYONE_HERE, allow(["s3:GetObject", "s3:PutObject"], f"{OBJECTS}/*"), path="/ncap/p/")
    return arn, bucket.user("runner", allow("sts:AssumeRole", arn))


def test_a_session_policy_narrows_the_role_to_what_both_allow(bucket, job_role):
    arn, runner = job_role
    lab_a = document(allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], f"{OBJECTS}/lab-a/*"))
    s3 = bucket.client("s3", bucket.assume(runner, arn, Policy=lab_a))
    assert not denied(get(s3, "lab-a/inputs/a.csv")) and not denied(put(s3, "lab-a/results/r.json"))
    assert denied(get(s3, "lab-b/inputs/b.csv")) and denied(put(s3, "lab-b/results/r.json"))
    # the session policy allows the delete, the role does not
    assert denied(lambda: s3.delete_object(Bucket=BUCKET, Key="lab-a/inputs/a.csv"))


def test_session_policies_by_arn_narrow_the_role_too(bucket, job_role):
    arn, runner = job_role
    managed = bucket.client("iam").create_policy(
        PolicyName="read-lab-b", PolicyDocument=document(allow("s3:GetObject", f"{OBJECTS}/lab-b/*")))["Policy"]["Arn"]
    s3 = bucket.client("s3", bucket.assume(runner, arn, PolicyArns=[{"arn": managed}]))
    assert not denied(get(s3, "lab-b/inputs/b.csv"))
    assert denied(get(s3, "lab-a/inputs/a.csv")) and denied(put(s3, "lab-b/inputs/new.csv"))
    both = bucket.assume(runner, arn, Policy=document(allow("s3:*", f"{OBJECTS}/lab-*")), PolicyArns=[{"arn": managed}])
    assert not denied(get(bucket.client("s3", both), "lab-b/inputs/b.csv"))


def test_a_deny_in_the_session_policy_denies(bucket, job_role):
    arn, runner = job_role
    policy = document(allow("s3:*"), deny("s3:PutObject", f"{OBJECTS}/lab-a/inputs/*"))
    s3 = bucket.client("s3", bucket.assume(runner, arn, Policy=policy))
    assert denied(put(s3, "lab-a/inputs/x.csv")) and not denied(put(s3, "lab-a/results/x.json"))


def test_without_a_session_policy_the_role_alone_decides(bucket, job_role):
    arn, runner = job_role
    s3 = bucket.client("s3", bucket.assume(runner, arn))
    assert not denied(get(s3, "lab-b/inputs/b.csv")) and not denied(put(s3, "lab-a/results/x.json"))


# --- conditions ---------------------------------------------------------------------------------

def test_a_lab_lists_its_own_folder_only(bucket):
    s3 = bucket.client("s3", bucket.user("alice", LAB_LISTING))
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="lab-a/")["Contents"]] == ["lab-a/inputs/a.csv"]
    assert not denied(lambda: s3.list_objects(Bucket=BUCKET, Prefix="lab-a/inputs/"))
    assert denied(lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="lab-b/"))
    assert denied(lambda: s3.list_objects_v2(Bucket=BUCKET))  # no prefix: the condition does not hold
    assert denied(lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="lab-a"))  # not under the folder


def test_an_allow_whose_condition_fails_is_neutral(bucket):
    """moto 5.2 turns a failed condition of an Allow into a Deny (for the keys it knows, such as
    sts:ExternalId); AWS ignores the statement, and another Allow still grants."""
    whole = allow("s3:ListBucket", OBJECTS)
    only_lab_b = allow("s3:ListBucket", OBJECTS, Condition={"StringEquals": {"s3:prefix": "lab-b/"}})
    s3 = bucket.client("s3", bucket.user("alice", only_lab_b, whole))
    assert not denied(lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="lab-a/"))
    partner = {**ANYONE_HERE, "Condition": {"StringEquals": {"sts:ExternalId": "partner-1"}}}
    role = bucket.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=document(partner, ANYONE_HERE))
    runner = bucket.user("runner", allow("sts:AssumeRole"))
    assert not denied(lambda: bucket.assume(runner, role["Role"]["Arn"], ExternalId="mine-2"))


def test_condition_operators_on_the_callers_keys(bucket):
    statements = [
        allow("s3:GetObject", f"{OBJECTS}/lab-a/*", Condition={"StringEquals": {"aws:username": "alice"}}),
        allow("s3:GetObject", f"{OBJECTS}/lab-b/*",
              Condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/ncap/*"}}),
        allow("s3:PutObject", f"{OBJECTS}/lab-a/*", Condition={"Null": {"s3:prefix": "true"},
                                                                 "Bool": {"aws:SecureTransport": "true"}}),
        deny("s3:PutObject", f"{OBJECTS}/lab-a/*", Condition={"StringNotEqualsIfExists": {"aws:username": "alice"}}),
    ]
    alice = bucket.client("s3", bucket.user("alice", *statements, path="/ncap/p/"))
    ann = bucket.client("s3", bucket.user("ann", *statements))
    assert not denied(get(alice, "lab-a/inputs/a.csv")) and denied(get(ann, "lab-a/inputs/a.csv"))
    assert not denied(get(alice, "lab-b/inputs/b.csv")) and denied(get(ann, "lab-b/inputs/b.csv"))
    assert not denied(put(alice, "lab-a/inputs/new.csv")) and denied(put(ann, "lab-a/inputs/new.csv"))


def test_policy_variables_in_resources(bucket):
    home = allow(["s3:GetObject", "s3:PutObject"], f"{OBJECTS}/home/${{aws:username}}/*")
    s3 = bucket.client("s3", bucket.user("alice", home))
    assert not denied(get(s3, "home/alice/notes.txt")) and not denied(put(s3, "home/alice/more.txt"))
    assert denied(get(s3, "home/bob/notes.txt")) and denied(put(s3, "home/bob/more.txt"))


def test_a_tls_only_deny_never_matches_on_the_emulator(bucket):
    """The one difference from AWS: every request counts as TLS (aws:SecureTransport is true)."""
    tls_only = deny("s3:*", "*", Condition={"Bool": {"aws:SecureTransport": "false"}})
    s3 = bucket.client("s3", bucket.user("alice", allow("s3:GetObject", f"{OBJECTS}/*"), tls_only))
    assert not denied(get(s3, "lab-a/inputs/a.csv"))


# --- trust policies -----------------------------------------------------------------------------

def trust_of(principal, **extra) -> dict:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


def test_a_role_arn_in_a_trust_policy_names_that_roles_sessions(bucket):
    """A job's session (a role with a path) assumes the role that trusts the job's role."""
    runner = bucket.user("runner", allow("sts:AssumeRole"))
    job = bucket.role("job-lab-a", ANYONE_HERE, allow("sts:AssumeRole"), path="/ncap/pipe/")
    assert job == f"arn:aws:iam::{ACCOUNT}:role/ncap/pipe/job-lab-a"
    reader = bucket.role("reader", trust_of({"AWS": job}), allow("s3:GetObject", f"{OBJECTS}/*"))
    session = bucket.assume(runner, job, session="job-1")
    arn = bucket.client("sts", session).get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/job-lab-a/job-1"  # the session drops the path
    assert not denied(get(bucket.client("s3", bucket.assume(session, reader)), "lab-b/inputs/b.csv"))
    assert denied(lambda: bucket.assume(runner, reader))  # the user is not the role


def test_the_account_in_a_trust_policy_delegates_to_the_identity_policies(bucket):
    role = bucket.role("r", ANYONE_HERE)
    assert not denied(lambda: bucket.assume(bucket.user("may", allow("sts:AssumeRole", role)), role))
    assert denied(lambda: bucket.assume(bucket.user("may-not", allow("s3:*")), role))
    bare = bucket.role("bare", trust_of({"AWS": ACCOUNT}))
    assert not denied(lambda: bucket.assume(bucket.user("may-too", allow("sts:AssumeRole")), bare))


@pytest.mark.parametrize("name, trust, expected_denied", [
    ("everyone", trust_of("*"), False),
    ("the user", trust_of({"AWS": f"arn:aws:iam::{ACCOUNT}:user/ncap/p/alice"}), False),
    ("another user", trust_of({"AWS": f"arn:aws:iam::{ACCOUNT}:user/ncap/p/bob"}), True),
    ("another account", trust_of({"AWS": "arn:aws:iam::999999999999:root"}), True),
    ("a service", trust_of({"Service": "lambda.amazonaws.com"}), True),
    ("the account, users of the pipeline", trust_of({"AWS": ACCOUNT}, Condition={
        "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/ncap/p/*"}}), False),
    ("the account, roles only", trust_of({"AWS": ACCOUNT}, Condition={
        "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/*"}}), True),
    ("the account, a session name", trust_of({"AWS": ACCOUNT}, Condition={
        "StringEquals": {"sts:RoleSessionName": "session-1"}}), False),
])
def test_trust_policy_principals_and_conditions(bucket, name, trust, expected_denied):
    alice = bucket.user("alice", allow("sts:AssumeRole"), path="/ncap/p/")
    bucket.user("bob", path="/ncap/p/")
    role = bucket.role("r", trust)
    assert denied(lambda: bucket.assume(alice, role)) is expected_denied


def test_a_trusted_caller_still_needs_its_identity_policy_to_allow_the_assume_role(bucket):
    role = bucket.role("r", trust_of("*"))
    other = bucket.role("other", trust_of("*"))
    user = bucket.user("alice", allow("sts:AssumeRole", other))
    assert denied(lambda: bucket.assume(user, role)) and not denied(lambda: bucket.assume(user, other))


def test_a_role_that_does_not_exist_cannot_be_assumed(bucket):
    user = bucket.user("alice", allow("sts:AssumeRole"))
    assert denied(lambda: bucket.assume(user, f"arn:aws:iam::{ACCOUNT}:role/nobody"))


# --- what moto already got right ----------------------------------------------------------------

def test_get_caller_identity_is_always_allowed(bucket):
    user = bucket.user("alice", deny("*"))
    assert bucket.client("sts", user).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"


def test_groups_and_attached_managed_policies_count(bucket):
    iam = bucket.client("iam")
    iam.create_group(GroupName="lab-a")
    iam.put_group_policy(GroupName="lab-a", PolicyName="read", PolicyDocument=document(allow("s3:GetObject",
                                                                                             f"{OBJECTS}/lab-a/*")))
    managed = iam.create_policy(PolicyName="write", PolicyDocument=document(
        allow("s3:PutObject", f"{OBJECTS}/lab-a/inputs/*")))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="lab-a", PolicyArn=managed)
    s3 = bucket.client("s3", bucket.user("alice", groups=("lab-a",)))
    assert not denied(get(s3, "lab-a/inputs/a.csv")) and not denied(put(s3, "lab-a/inputs/new.csv"))
    assert denied(get(s3, "lab-b/inputs/b.csv")) and denied(put(s3, "lab-a/results/x.json"))


def test_attached_role_policies_and_not_elements(bucket):
    iam = bucket.client("iam")
    managed = iam.create_policy(PolicyName="all-but-b", PolicyDocument=document(
        {"Effect": "Allow", "NotAction": "s3:Delete*", "NotResource": f"{OBJECTS}/lab-b/*"}))["Policy"]["Arn"]
    role = bucket.role("r", ANYONE_HERE)
    iam.attach_role_policy(RoleName="r", PolicyArn=managed)
    s3 = bucket.client("s3", bucket.assume(bucket.user("runner", allow("sts:AssumeRole", role)), role))
    assert not denied(get(s3, "lab-a/inputs/a.csv")) and denied(get(s3, "lab-b/inputs/b.csv"))
    assert denied(lambda: s3.delete_object(Bucket=BUCKET, Key="lab-a/inputs/a.csv"))


def test_queue_actions_are_checked_on_the_queue(bucket):
    sqs = bucket.client("sqs")
    jobs = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    other = sqs.create_queue(QueueName="other")["QueueUrl"]
    user = bucket.client("sqs", bucket.user("worker", allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs")))
    assert not denied(lambda: user.send_message(QueueUrl=jobs, MessageBody="m"))
    assert denied(lambda: user.send_message(QueueUrl=other, MessageBody="m"))


def test_wrong_secrets_and_tokens_are_still_refused(bucket, job_role):
    arn, runner = job_role
    key, secret, token = bucket.assume(runner, arn)
    with pytest.raises(ClientError, match="SignatureDoesNotMatch|InvalidToken|403"):
        bucket.client("s3", (runner[0], "not-the-secret")).get_object(Bucket=BUCKET, Key="lab-a/inputs/a.csv")
    with pytest.raises(ClientError, match="InvalidToken|403"):
        bucket.client("s3", (key, secret, token + "x")).get_object(Bucket=BUCKET, Key="lab-a/inputs/a.csv")


# --- session tags -------------------------------------------------------------------------------

TAGGED_TRUST = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {"StringLike": {"aws:RequestTag/ncap-lab": "?*"},
                              "ForAllValues:StringEquals": {"aws:TagKeys": ["ncap-lab"]}}}


@pytest.fixture
def tagged_role(bucket):
    """The job role's shape: one role whose policy names the folders of the session's lab tag."""
    arn = bucket.role("jobs", TAGGED_TRUST, allow("s3:GetObject", f"{OBJECTS}/${{aws:PrincipalTag/ncap-lab}}/*"),
                      path="/ncap/p/jobs/")
    return arn, bucket.user("agent", allow(["sts:AssumeRole", "sts:TagSession"], arn))


def lab_tag(lab):
    return [{"Key": "ncap-lab", "Value": lab}]


def test_a_session_tagged_with_a_lab_reaches_that_labs_folders_only(bucket, tagged_role):
    arn, agent = tagged_role
    lab_a = bucket.client("s3", bucket.assume(agent, arn, Tags=lab_tag("lab-a")))
    assert not denied(get(lab_a, "lab-a/inputs/a.csv")) and denied(get(lab_a, "lab-b/inputs/b.csv"))
    lab_b = bucket.client("s3", bucket.assume(agent, arn, "session-2", Tags=lab_tag("lab-b")))
    assert not denied(get(lab_b, "lab-b/inputs/b.csv")) and denied(get(lab_b, "lab-a/inputs/a.csv"))


def test_the_trust_policy_requires_the_lab_tag_and_no_other(bucket, tagged_role):
    arn, agent = tagged_role
    assert denied(lambda: bucket.assume(agent, arn))
    assert denied(lambda: bucket.assume(agent, arn, Tags=lab_tag("")))
    assert denied(lambda: bucket.assume(agent, arn, Tags=[*lab_tag("lab-a"), {"Key": "other", "Value": "x"}]))


def test_tagging_a_session_needs_sts_tag_session_from_the_caller_and_the_trust(bucket):
    no_tagging = bucket.role("plain", ANYONE_HERE, allow("s3:GetObject", f"{OBJECTS}/*"))
    caller = bucket.user("caller", allow(["sts:AssumeRole", "sts:TagSession"], no_tagging))
    assert denied(lambda: bucket.assume(caller, no_tagging, Tags=lab_tag("lab-a")))
    assert not denied(lambda: bucket.assume(caller, no_tagging))
    tagging = bucket.role("tagging", TAGGED_TRUST, allow("s3:GetObject", f"{OBJECTS}/*"))
    only_assume = bucket.user("only-assume", allow("sts:AssumeRole", tagging))
    assert denied(lambda: bucket.assume(only_assume, tagging, Tags=lab_tag("lab-a")))
