"""The caller of an emulator request and every policy of its own, read from moto's IAM and STS
state for enforce.py: an IAM user (its inline and attached policies, its groups' too) or a role
session (its role's policies, and the session policies its AssumeRole gave), with the condition
keys that describe it.

Context keys: aws:PrincipalArn (the user's ARN with its path, or the session's role's ARN),
aws:PrincipalAccount, aws:PrincipalType (User, AssumedRole), aws:userid, aws:username (users
only), aws:PrincipalTag/KEY (a session's tags), aws:RequestedRegion, and aws:SecureTransport,
always "true" (enforce.py says why).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .policy import NOTHING, Caller, Policy, parse, parse_document
from .services import is_services_path

SECURE_TRANSPORT = "true"
SESSION_POLICY_ARNS = "ncap_session_policy_arns"  # set on moto's AssumedRole by enforce.py
SESSION_TAGS = "ncap_session_tags"  # likewise: the AssumeRole's Tags, {key: value}

Context = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Identity:
    """The caller of one request, with every policy of its own."""

    caller: Caller
    policies: tuple[Policy, ...]
    session: tuple[Policy, ...] | None  # None: no session policies
    context: Context


def identity_of(iam_request: Any) -> Identity:
    """The caller of moto's IAMRequestBase (its access key was found: the user or session exists)."""
    key = iam_request._access_key
    if hasattr(key, "_owner_role_name"):
        return _session_identity(iam_request, key)
    return _user_identity(iam_request, key)


def _context(arn: str, iam_request: Any, kind: str, user_id: str) -> Context:
    return {"aws:securetransport": (SECURE_TRANSPORT,), "aws:principalarn": (arn,),
            "aws:principalaccount": (iam_request.account_id,), "aws:principaltype": (kind,),
            "aws:userid": (user_id,), "aws:requestedregion": (iam_request._region,)}


def _user_identity(iam_request: Any, key: Any) -> Identity:
    user = iam_request.backend.get_user(key._owner_user_name)
    context = {**_context(user.arn, iam_request, "User", user.id), "aws:username": (user.name,)}
    caller = Caller(user.arn, user.arn, iam_request.account_id, service=is_services_path(user.path))
    return Identity(caller, _parsed(key.collect_policies()), None, context)


def _session_identity(iam_request: Any, key: Any) -> Identity:
    from moto.sts.models import sts_backends

    session = sts_backends[iam_request.account_id][key.partition].get_assumed_role_from_access_key(
        key._access_key_id)
    role = role_where(iam_request.backend, lambda r: r.name == key._owner_role_name)
    if session is None or role is None:  # the role was deleted: its sessions may do nothing
        arn = session.arn if session is not None else "arn:aws:sts::unknown"
        return Identity(Caller(arn, arn, iam_request.account_id), (), None,
                        _context(arn, iam_request, "AssumedRole", ""))
    context = _context(role.arn, iam_request, "AssumedRole", f"{role.id}:{session.session_name}")
    context.update({f"aws:principaltag/{key.lower()}": (value,)
                    for key, value in getattr(session, SESSION_TAGS, {}).items()})
    caller = Caller(session.arn, role.arn, iam_request.account_id)
    return Identity(caller, _parsed(key.collect_policies()), session_policies(iam_request.backend, session), context)


def role_where(backend: Any, test: Callable[[Any], bool]) -> Any:
    """The role of moto's IAM backend that passes `test`, or None."""
    return next((role for role in backend.roles.values() if test(role)), None)


def _parsed(documents: Any) -> tuple[Policy, ...]:
    return tuple(parse_document(document_of(d)) for d in documents)


def document_of(policy: Any) -> Any:
    """The document of what moto's collect_policies gives: text, a parsed document (CloudFormation's
    inline role policies), an inline policy's record, or a managed policy (its default version)."""
    if isinstance(policy, str):
        return policy
    if isinstance(policy, dict):
        return policy.get("policy_document", policy)
    return next(v.document for v in policy.versions if v.is_default)


def session_policies(backend: Any, session: Any) -> tuple[Policy, ...] | None:
    """The policies an AssumeRole gave the session (inline, then by ARN), or None when it gave none.
    A PolicyArns entry naming no policy allows nothing."""
    arns = getattr(session, SESSION_POLICY_ARNS, ())
    if session.policy is None and not arns:
        return None
    found = [parse(session.policy)] if session.policy is not None else []
    for arn in arns:
        managed = backend.managed_policies.get(arn)
        found.append(NOTHING if managed is None else parse_document(document_of(managed)))
    return tuple(found)
