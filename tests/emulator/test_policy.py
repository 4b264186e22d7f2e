"""policy.py on its own: documents, the evaluation of one policy, and the decision from identity,
session and resource policies, and from trust policies (no server)."""
import json

import pytest

from ncap_iac.emulator.policy import Caller, Grant, Request, decide, evaluate, parse, parse_document, trusts

ACCOUNT = "123456789012"
BUCKET = "arn:aws:s3:::ncap-p"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ncap/p/job-lab-a"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/job-lab-a/job-1"
USER = f"arn:aws:iam::{ACCOUNT}:user/ncap/p/alice"
ALICE = Caller(USER, USER, ACCOUNT)
JOB = Caller(SESSION, ROLE, ACCOUNT)
SERVICES = Caller(f"arn:aws:iam::{ACCOUNT}:user/ncap-emulator-services/aws-services",
                  f"arn:aws:iam::{ACCOUNT}:user/ncap-emulator-services/aws-services", ACCOUNT, service=True)
SECURE = {"aws:securetransport": ("true",)}


def doc(*statements, version="2012-10-17"):
    return parse(json.dumps({"Version": version, "Statement": list(statements)}))


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def get(key, **context):
    return Request("s3:GetObject", f"{BUCKET}/{key}", {**SECURE, **context})


def listing(prefix=None):
    return Request("s3:ListBucket", BUCKET, {**SECURE, **({"s3:prefix": (prefix,)} if prefix is not None else {})})


LAB_A = doc(allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": ["lab-a/", "lab-a/*"]}}),
            allow("s3:GetObject", f"{BUCKET}/lab-a/*"))


def test_documents_parse_once_per_text_and_a_broken_one_allows_nothing():
    text = json.dumps({"Version": "2012-10-17", "Statement": allow("s3:GetObject")})
    assert parse(text) is parse(text)
    assert parse_document(json.loads(text)) == parse(text)
    assert parse("not json").statements == () and not decide(get("x"), [parse("not json")])


def test_identity_policy_actions_resources_and_not_elements():
    assert decide(get("lab-a/inputs/x"), [LAB_A]) and not decide(get("lab-b/inputs/x"), [LAB_A])
    everything_but_delete = doc({"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"})
    assert decide(get("x"), [everything_but_delete])
    assert not decide(Request("s3:DeleteObject", f"{BUCKET}/x", SECURE), [everything_but_delete])
    outside_b = doc({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": f"{BUCKET}/lab-b/*"})
    assert decide(get("lab-a/x"), [outside_b]) and not decide(get("lab-b/x"), [outside_b])


def test_an_explicit_deny_anywhere_wins():
    assert not decide(get("lab-a/x"), [LAB_A, doc(deny("s3:*", f"{BUCKET}/lab-a/*"))])


def test_an_allow_whose_condition_fails_is_neutral_not_a_deny():
    # the lab's listing is allowed under its prefix only; another Allow still grants what it says
    assert decide(listing("lab-a/inputs/"), [LAB_A])
    assert not decide(listing("lab-b/"), [LAB_A]) and not decide(listing(), [LAB_A])
    assert decide(listing("lab-b/"), [LAB_A, doc(allow("s3:ListBucket", BUCKET))])


def test_a_deny_whose_condition_fails_does_not_deny():
    tls_only = doc(deny("s3:*", "*", Condition={"Bool": {"aws:SecureTransport": "false"}}))
    assert decide(get("lab-a/x"), [LAB_A, tls_only])


def test_an_unsupported_operator_makes_allows_not_apply_and_denies_apply():
    ip = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    assert not decide(get("x"), [doc(allow("s3:GetObject", Condition=ip))])
    assert not decide(get("x"), [doc(allow("s3:GetObject"), deny("s3:GetObject", Condition=ip))])


def test_policy_variables_in_resources():
    own = doc(allow("iam:ChangePassword", f"arn:aws:iam::{ACCOUNT}:user/ncap/p/${{aws:username}}"))
    change = Request("iam:ChangePassword", USER, {"aws:username": ("alice",)})
    assert decide(change, [own])
    assert not decide(Request("iam:ChangePassword", USER, {"aws:username": ("bob",)}), [own])
    assert not decide(Request("iam:ChangePassword", USER, {}), [own])  # a role session has no aws:username
    literal = doc(allow("iam:ChangePassword", f"arn:aws:iam::{ACCOUNT}:user/ncap/p/${{aws:username}}"),
                  version="2008-10-17")
    assert not decide(change, [literal])


def test_session_policies_intersect_with_the_identity_policies():
    role = [doc(allow("s3:GetObject", f"{BUCKET}/*"), allow("s3:PutObject", f"{BUCKET}/*"))]
    own_job = [doc(allow(["s3:GetObject", "s3:PutObject", "sqs:*"], f"{BUCKET}/lab-a/*"))]
    assert decide(get("lab-a/x"), role, own_job)
    assert not decide(get("lab-b/x"), role, own_job)  # the role allows it, the session policy does not
    assert not decide(Request("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q", SECURE), role, own_job)  # nor this
    assert not decide(get("lab-a/x"), role, [doc(allow("s3:*"), deny("s3:GetObject"))])
    assert not decide(get("lab-a/x"), role, [])  # session policies that allow nothing


def test_a_bucket_policy_deny_applies_to_the_principals_it_names():
    no_alice = doc(deny("s3:*", f"{BUCKET}/*", Principal={"AWS": USER}))
    assert not decide(get("lab-a/x"), [LAB_A], resource=no_alice, caller=ALICE)
    assert decide(get("lab-a/x"), [LAB_A], resource=no_alice, caller=Caller(USER.replace("alice", "ann"),
                                                                             USER.replace("alice", "ann"), ACCOUNT))
    everyone = doc(deny("s3:*", f"{BUCKET}/*", Principal="*"))
    assert not decide(get("lab-a/x"), [LAB_A], resource=everyone, caller=JOB)


def test_a_bucket_policy_allow_grants_to_the_principals_it_names():
    nothing: list = []
    for principal, caller in (({"AWS": USER}, ALICE), ("*", ALICE), ({"AWS": ROLE}, JOB), ({"AWS": SESSION}, JOB)):
        grant = doc(allow("s3:GetObject", f"{BUCKET}/*", Principal=principal))
        assert decide(get("lab-b/x"), nothing, resource=grant, caller=caller), principal
    # the account's root delegates to the identity policies: it grants nothing by itself
    account = doc(allow("s3:GetObject", f"{BUCKET}/*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    assert not decide(get("lab-b/x"), nothing, resource=account, caller=ALICE)
    assert decide(get("lab-a/x"), [LAB_A], resource=account, caller=ALICE)
    other = doc(allow("s3:GetObject", f"{BUCKET}/*", Principal={"AWS": USER.replace("alice", "bob")}))
    assert not decide(get("lab-b/x"), nothing, resource=other, caller=ALICE)


def test_a_bucket_policy_naming_the_role_stays_within_the_session_policy_naming_the_session_does_not():
    limited = [doc(allow("s3:GetObject", f"{BUCKET}/lab-a/*"))]
    by_role = doc(allow("s3:GetObject", f"{BUCKET}/*", Principal={"AWS": ROLE}))
    by_session = doc(allow("s3:GetObject", f"{BUCKET}/*", Principal={"AWS": SESSION}))
    assert not decide(get("lab-b/x"), [], limited, resource=by_role, caller=JOB)
    assert decide(get("lab-a/x"), [], limited, resource=by_role, caller=JOB)
    assert decide(get("lab-b/x"), [], limited, resource=by_session, caller=JOB)


def assume(context=None):
    return Request("sts:AssumeRole", ROLE, {**SECURE, **(context or {})})


def trust(principal, **extra):
    return doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra})


@pytest.mark.parametrize("name, principal, caller, expected", [
    ("the user", {"AWS": USER}, ALICE, True),
    ("another user", {"AWS": USER.replace("alice", "bob")}, ALICE, False),
    ("the role names its sessions", {"AWS": ROLE}, JOB, True),
    ("the session itself", {"AWS": SESSION}, JOB, True),
    ("the account's root", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, ALICE, True),
    ("the bare account id", {"AWS": ACCOUNT}, JOB, True),
    ("another account", {"AWS": "arn:aws:iam::999999999999:root"}, ALICE, False),
    ("everyone", "*", ALICE, True),
    ("everyone, as AWS", {"AWS": "*"}, JOB, True),
    ("a service, not for users", {"Service": "lambda.amazonaws.com"}, ALICE, False),
    ("a service, for the services", {"Service": ["ec2.amazonaws.com"]}, SERVICES, True),
    ("the services are no AWS principal", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, SERVICES, False),
    ("the services are not everyone", "*", SERVICES, False),
])
def test_trust_policy_principals(name, principal, caller, expected):
    assert trusts(trust(principal), assume(), caller) is expected


def test_trust_policy_conditions_and_denies():
    only_jobs = trust({"AWS": ACCOUNT}, Condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ncap/*"}})
    assert trusts(only_jobs, assume({"aws:principalarn": (ROLE,)}), JOB)
    assert not trusts(only_jobs, assume({"aws:principalarn": (USER,)}), ALICE)
    not_alice = doc({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
                    {"Effect": "Deny", "Principal": {"AWS": USER}, "Action": "sts:AssumeRole"})
    assert trusts(not_alice, assume(), JOB) and not trusts(not_alice, assume(), ALICE)
    assert not trusts(trust("*"), Request("sts:TagSession", ROLE, SECURE), ALICE)


def test_evaluate_reports_the_strongest_grant():
    both = doc(allow("s3:GetObject", "*", Principal={"AWS": ACCOUNT}), allow("s3:GetObject", "*", Principal={"AWS": SESSION}))
    assert evaluate(both, get("x"), JOB).grant is Grant.SESSION
    assert evaluate(both, get("x"), ALICE).grant is Grant.ACCOUNT
