"""IAM policy documents, and the decision AWS makes from them for a request within one account.
Pure: no AWS, no moto (enforce.py feeds it what the emulator holds); the matching of strings and
conditions is conditions.py.

The decision (`decide`) follows AWS's evaluation logic for one account:
1. an explicit Deny in any policy that applies (identity, session, resource) denies;
2. else the request is allowed when the identity policies allow it and, for a role session made
   with session policies, those allow it as well (the intersection);
3. else a resource policy (a bucket policy) that allows it for the caller grants it: one naming the
   session's own ARN grants it by itself, one naming the user, the role or everyone (`*`) grants it
   within what the session policies allow, and one naming only the account delegates to the
   identity policies (it grants nothing by itself);
4. else the request is denied (implicitly).
An Allow whose condition does not hold has no effect: it is neither an Allow nor a Deny. A
condition with an operator conditions.py does not support makes an Allow not apply and a Deny apply.

A trust policy (`trusts`) lets a caller assume the role when an Allow names it (its ARN, its role,
its account or everyone) and no Deny does; the identity policies must allow sts:AssumeRole as well.
The emulator's stand-in for the AWS services (services.py) is named only by `Service` principals.
Parsed documents are cached by their text: a changed policy is a new text.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any

from .conditions import Condition, Context, holds, matches, parse_conditions

VARIABLES_VERSION = "2012-10-17"  # the policy language version with policy variables
ACCOUNT_ID = re.compile(r"^\d{12}$")


class Grant(IntEnum):
    """How specifically an Allow's Principal names the caller (the strongest wins)."""

    NONE = 0
    ACCOUNT = 1  # the caller's account: delegates to the identity policies
    IDENTITY = 2  # the user, the role of a session, or everyone
    SESSION = 3  # the session itself (or the user: users have no session policies)


@dataclass(frozen=True)
class Principals:
    everyone: bool
    aws: frozenset[str]  # ARNs; a bare account id is kept as arn:aws:iam::ID:root
    services: frozenset[str]


@dataclass(frozen=True)
class Statement:
    allow: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None  # None: no Resource element (a trust policy's statements)
    not_resource: bool
    principals: Principals | None  # None: no Principal element (an identity policy's statements)
    not_principal: bool
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    variables: bool  # whether ${...} are policy variables (version 2012-10-17)


@dataclass(frozen=True)
class Caller:
    """Who makes a request, as resource and trust policies name principals."""

    arn: str  # the user's ARN (with its path), or the role session's arn:aws:sts::...:assumed-role/NAME/SESSION
    identity: str  # the user's ARN, or the ARN of the session's role (aws:PrincipalArn)
    account: str
    service: bool = False  # the emulator's stand-in for the AWS services


@dataclass(frozen=True)
class Request:
    action: str  # "s3:GetObject"
    resource: str  # an ARN, or "*" when the emulator does not know it
    context: Context  # condition keys in lower case -> values


@dataclass(frozen=True)
class Outcome:
    denied: bool
    allowed: bool
    grant: Grant  # for resource and trust policies: how the strongest applicable Allow names the caller


NOTHING = Policy((), True)


# --- documents ----------------------------------------------------------------------------------

@lru_cache(maxsize=2048)
def parse(text: str) -> Policy:
    """A policy document (JSON text) as statements; a document that is not one allows nothing."""
    try:
        document = json.loads(text)
        listed = document.get("Statement", [])
        statements = tuple(_statement(s) for s in (listed if isinstance(listed, list) else [listed]))
    except (ValueError, AttributeError, TypeError):
        return NOTHING
    return Policy(statements, document.get("Version") == VARIABLES_VERSION)


def parse_document(document: Any) -> Policy:
    """A policy given as JSON text or as the parsed document (moto keeps both kinds)."""
    return parse(document if isinstance(document, str) else json.dumps(document, sort_keys=True))


def _statement(raw: Mapping[str, Any]) -> Statement:
    resources = raw.get("NotResource", raw.get("Resource"))
    principal = raw.get("NotPrincipal", raw.get("Principal"))
    return Statement(
        allow=raw.get("Effect") == "Allow",
        actions=_listed(raw.get("NotAction", raw.get("Action", []))), not_action="NotAction" in raw,
        resources=None if resources is None else _listed(resources), not_resource="NotResource" in raw,
        principals=None if principal is None else _principals(principal), not_principal="NotPrincipal" in raw,
        conditions=parse_conditions(raw.get("Condition", {})))


def _listed(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def _principals(raw: Any) -> Principals:
    if raw == "*":
        return Principals(True, frozenset(), frozenset())
    aws = _listed(raw.get("AWS", [])) if isinstance(raw, dict) else ()
    services = _listed(raw.get("Service", [])) if isinstance(raw, dict) else ()
    named = frozenset(f"arn:aws:iam::{a}:root" if ACCOUNT_ID.match(a) else a for a in aws if a != "*")
    return Principals("*" in aws, named, frozenset(services))


# --- evaluation ---------------------------------------------------------------------------------

def evaluate(policy: Policy, request: Request, caller: Caller | None = None) -> Outcome:
    """What one policy says of the request. Without a caller the Principal elements are not read
    (identity and session policies); with one, a statement applies only to the callers it names."""
    allowed, grant = False, Grant.NONE
    for statement in policy.statements:
        if not _concerns(statement, request, policy.variables):
            continue
        named = Grant.SESSION if caller is None else _grant(statement, caller)
        if named is Grant.NONE:
            continue
        held = _conditions_hold(statement.conditions, request.context, policy.variables)
        if not statement.allow and held is not False:
            return Outcome(True, False, Grant.NONE)
        if statement.allow and held is True:
            allowed, grant = True, max(grant, named)
    return Outcome(False, allowed, grant)


def _concerns(statement: Statement, request: Request, variables: bool) -> bool:
    """Whether the statement's actions and resources cover the request."""
    action = any(matches(a, request.action, ignore_case=True, variables=False) for a in statement.actions)
    if action == statement.not_action:
        return False
    if statement.resources is None:
        return True
    resource = any(matches(r, request.resource, request.context, arn=True, variables=variables)
                   for r in statement.resources)
    return resource != statement.not_resource


def _grant(statement: Statement, caller: Caller) -> Grant:
    if statement.principals is None:
        return Grant.NONE
    named = _named(statement.principals, caller)
    if statement.not_principal:
        return Grant.IDENTITY if named is Grant.NONE else Grant.NONE
    return named


def _named(principals: Principals, caller: Caller) -> Grant:
    if caller.service:
        return Grant.SESSION if principals.services else Grant.NONE
    if caller.arn in principals.aws:
        return Grant.SESSION
    if principals.everyone or caller.identity in principals.aws:
        return Grant.IDENTITY
    partition = caller.arn.split(":")[1] if caller.arn.count(":") >= 1 else "aws"
    if f"arn:{partition}:iam::{caller.account}:root" in principals.aws:
        return Grant.ACCOUNT
    return Grant.NONE


def _conditions_hold(conditions: tuple[Condition, ...], context: Context, variables: bool) -> bool | None:
    """True when all hold, False when one does not, None when one is unsupported (and none fails)."""
    answer: bool | None = True
    for condition in conditions:
        held = holds(condition, context, variables)
        if held is False:
            return False
        if held is None:
            answer = None
    return answer


def decide(request: Request, identity: Sequence[Policy], session: Sequence[Policy] | None = None,
           resource: Policy | None = None, caller: Caller | None = None) -> bool:
    """Whether AWS allows the request (see the module's docstring). `session` is None for a caller
    without session policies; `resource` is the resource's policy, read for `caller`."""
    mine = [evaluate(p, request) for p in identity]
    limits = [evaluate(p, request) for p in session or ()]
    theirs = evaluate(resource, request, caller) if resource is not None and caller is not None else None
    if any(o.denied for o in mine + limits) or (theirs is not None and theirs.denied):
        return False
    within_session = session is None or any(o.allowed for o in limits)
    if any(o.allowed for o in mine) and within_session:
        return True
    grant = theirs.grant if theirs is not None else Grant.NONE
    return grant is Grant.SESSION or (grant is Grant.IDENTITY and within_session)


def trusts(policy: Policy, request: Request, caller: Caller) -> bool:
    """Whether a role's trust policy lets `caller` make `request` (sts:AssumeRole on the role)."""
    outcome = evaluate(policy, request, caller)
    return outcome.allowed and not outcome.denied
