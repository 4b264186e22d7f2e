"""conditions.py on its own: wildcards, policy variables and condition operators, as AWS documents
them (no server)."""
import pytest

from ncap_iac.emulator.conditions import Condition, holds, matches, parse_conditions, substitute


def context(**values) -> dict:
    """A request context: keys in lower case, values as tuples (':' written as '__')."""
    return {k.replace("__", ":").lower(): (v,) if isinstance(v, str) else tuple(v) for k, v in values.items()}


def condition(block: dict) -> Condition:
    (found,) = parse_conditions(block)
    return found


@pytest.mark.parametrize("pattern, value, expected", [
    ("s3:Get*", "s3:GetObject", True),
    ("s3:get*", "s3:GetObject", True),  # actions ignore case
    ("s3:?etObject", "s3:GetObject", True),
    ("s3:Put*", "s3:GetObject", False),
    ("*", "sqs:SendMessage", True),
])
def test_actions_match_with_wildcards_ignoring_case(pattern, value, expected):
    assert matches(pattern, value, ignore_case=True, variables=False) is expected


@pytest.mark.parametrize("pattern, value, expected", [
    ("arn:aws:s3:::bucket/lab-a/*", "arn:aws:s3:::bucket/lab-a/inputs/x.csv", True),
    ("arn:aws:s3:::bucket/lab-a/*", "arn:aws:s3:::bucket/lab-b/inputs/x.csv", False),
    ("arn:aws:s3:::bucket/lab-a/*", "arn:aws:s3:::bucket/lab-a", False),
    ("arn:aws:s3:::bucket", "arn:aws:s3:::bucket/key", False),
    ("arn:aws:s3:::Bucket", "arn:aws:s3:::bucket", False),  # resources are case-sensitive
    ("arn:aws:sqs:*:123456789012:jobs", "arn:aws:sqs:us-east-1:123456789012:jobs", True),
    # a wildcard in the region segment does not reach into the account segment
    ("arn:aws:sqs:*:jobs", "arn:aws:sqs:us-east-1:123456789012:jobs", False),
    ("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:*",
     "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:log-stream:s", True),
    ("arn:aws:s3:::bucket/a.b", "arn:aws:s3:::bucket/aXb", False),  # no regular expressions
    ("*", "anything at all", True),
])
def test_resources_match_segment_by_segment(pattern, value, expected):
    assert matches(pattern, value, arn=True) is expected


def test_policy_variables_resolve_from_the_context():
    user = context(aws__username="alice")
    pattern = "arn:aws:iam::123456789012:user/ncap/p/${aws:username}"
    assert matches(pattern, "arn:aws:iam::123456789012:user/ncap/p/alice", user, arn=True)
    assert not matches(pattern, "arn:aws:iam::123456789012:user/ncap/p/bob", user, arn=True)
    # a key the request lacks: the pattern matches nothing, unless it names a default
    assert not matches(pattern, "arn:aws:iam::123456789012:user/ncap/p/", {}, arn=True)
    assert matches("arn:aws:s3:::b/${aws:username, 'nobody'}/*", "arn:aws:s3:::b/nobody/x", {}, arn=True)


def test_variable_values_and_escapes_are_literal():
    star = context(aws__username="a*")
    assert not matches("arn:aws:s3:::b/${aws:username}", "arn:aws:s3:::b/anything", star, arn=True)
    assert matches("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/*", arn=True)
    assert not matches("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/x", arn=True)
    assert substitute("${aws:username}/${?}${$}", context(aws__username="ann")) == "ann/?$"
    # without variables (policy version 2008-10-17) ${...} is text
    assert matches("b/${aws:username}", "b/${aws:username}", {}, variables=False)


PREFIX = {"StringLike": {"s3:prefix": ["lab-a/", "lab-a/*"]}}


@pytest.mark.parametrize("name, block, request_context, expected", [
    ("like own prefix", PREFIX, context(s3__prefix="lab-a/inputs/"), True),
    ("like other prefix", PREFIX, context(s3__prefix="lab-b/"), False),
    ("like absent key", PREFIX, {}, False),
    ("equals", {"StringEquals": {"aws:username": "alice"}}, context(aws__username="alice"), True),
    ("equals is case-sensitive", {"StringEquals": {"aws:username": "Alice"}}, context(aws__username="alice"), False),
    ("equals ignore case", {"StringEqualsIgnoreCase": {"aws:username": "Alice"}}, context(aws__username="alice"), True),
    ("keys ignore case", {"StringEquals": {"AWS:UserName": "alice"}}, context(aws__username="alice"), True),
    ("not equals", {"StringNotEquals": {"aws:username": ["bob", "ben"]}}, context(aws__username="alice"), True),
    ("not equals listed", {"StringNotEquals": {"aws:username": ["bob", "ben"]}}, context(aws__username="ben"), False),
    ("not equals absent key holds", {"StringNotEquals": {"aws:username": "bob"}}, {}, True),
    ("not like", {"StringNotLike": {"s3:prefix": "lab-b/*"}}, context(s3__prefix="lab-a/x"), True),
    ("if exists absent", {"StringLikeIfExists": {"s3:prefix": "lab-a/*"}}, {}, True),
    ("if exists present", {"StringLikeIfExists": {"s3:prefix": "lab-a/*"}}, context(s3__prefix="lab-b/x"), False),
    ("bool", {"Bool": {"aws:SecureTransport": "false"}}, context(aws__SecureTransport="true"), False),
    ("bool as JSON", {"Bool": {"aws:SecureTransport": True}}, context(aws__SecureTransport="true"), True),
    ("bool absent", {"Bool": {"aws:SecureTransport": "false"}}, {}, False),
    ("null true, absent", {"Null": {"s3:prefix": "true"}}, {}, True),
    ("null true, present", {"Null": {"s3:prefix": "true"}}, context(s3__prefix="x"), False),
    ("null false, present", {"Null": {"s3:prefix": "false"}}, context(s3__prefix="x"), True),
    ("arn equals", {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:t"}},
     context(aws__SourceArn="arn:aws:sns:us-east-1:123456789012:t"), True),
    ("arn like", {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/ncap/*"}},
     context(aws__PrincipalArn="arn:aws:iam::123456789012:role/ncap/p/job-lab-a"), True),
    ("arn not like", {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/ncap/*"}},
     context(aws__PrincipalArn="arn:aws:iam::123456789012:user/alice"), True),
    ("numeric", {"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": ("5",)}, True),
    ("numeric not a number", {"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": ("x",)}, False),
    ("variable in a value", {"StringLike": {"s3:prefix": "${aws:username}/*"}},
     context(aws__username="alice", s3__prefix="alice/x"), True),
    ("any value", {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, context(aws__TagKeys=["c", "b"]), True),
    ("any value, none", {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, context(aws__TagKeys=["c"]), False),
    ("any value, absent", {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {}, False),
    ("all values", {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, context(aws__TagKeys=["a", "b"]), True),
    ("all values, one not", {"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, context(aws__TagKeys=["a", "c"]),
     False),
    ("all values, absent", {"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, {}, True),
    ("all values not like", {"ForAllValues:StringNotLike": {"aws:TagKeys": ["x*"]}}, context(aws__TagKeys=["a", "b"]),
     True),
])
def test_operators(name, block, request_context, expected):
    assert holds(condition(block), request_context) is expected


def test_an_unsupported_operator_is_unknown_not_true():
    assert holds(condition({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), context(aws__SourceIp="10.1.1.1")) is None
    assert holds(condition({"Sometimes:StringEquals": {"a": "b"}}), context(a="b")) is None


def test_one_block_is_every_key_of_every_operator():
    found = parse_conditions({"StringLike": {"s3:prefix": "a/*", "s3:delimiter": "/"}, "Bool": {"aws:SecureTransport": "true"}})
    assert [(c.operator, c.key) for c in found] == [("StringLike", "s3:prefix"), ("StringLike", "s3:delimiter"),
                                                    ("Bool", "aws:securetransport")]
