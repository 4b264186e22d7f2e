"""IAM on the emulator as AWS enforces it, for what the product relies on.

moto's server checks each request, once IAM is enforced (a count POSTed to /moto-api/reset-auth),
in `IAMRequestBase.check_action_permitted`. `install` puts policy.py's decision there, fed with
- the caller's identity policies (those moto collects: inline and attached, a user's groups' too)
  and, for a role session, the session policies given to its AssumeRole (`Policy`, `PolicyArns`);
- the request's context: aws:SecureTransport, aws:PrincipalArn, aws:PrincipalAccount,
  aws:PrincipalType, aws:userid, aws:username (users), aws:RequestedRegion; for S3 listings
  s3:prefix, s3:delimiter and s3:max-keys when the request has them; for sts:AssumeRole
  sts:RoleSessionName and sts:ExternalId, and aws:SourceAccount when the AWS services' stand-in
  (services.py) asks; for ses:SendEmail ses:FromAddress. The emulator knows no aws:SourceArn: it is absent;
- for SQS, SNS, sts:AssumeRole, Auto Scaling and Secrets Manager requests, the ARN the request
  names (resources.py), where moto asks about `*`;
- for S3 the bucket's policy; for sts:AssumeRole the role's trust policy (an assumed role's
  session ARN drops the role's path: arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION).
It also checks what AWS checks besides the request's own action:
- CopyObject and UploadPartCopy read their source: s3:GetObject (s3:GetObjectVersion for a
  version) on the source object, under the source bucket's policy;
- GetObject and HeadObject of a key that does not exist answer 403 AccessDenied unless the caller
  may list the bucket (s3:ListBucket, with no s3:prefix in the context), as AWS does; else 404;
- DeleteObjects needs s3:DeleteObject (s3:DeleteObjectVersion for a version) on each key, not on
  the bucket: the keys denied are reported as AccessDenied, the others deleted.
sts:GetCallerIdentity is always allowed; signatures and session tokens are moto's own checks.

The one difference from AWS: aws:SecureTransport is always "true". The emulator serves plain HTTP
on localhost, and treating its requests as TLS is what lets the product's TLS-only Deny statements
stand as written (they never match), where on AWS they deny plain HTTP.

Before IAM is enforced, moto still reads a bucket's policy for object requests (principal
unknown): then only statements for everyone (`*`) apply, evaluated as above.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .callers import SECURE_TRANSPORT, SESSION_POLICY_ARNS, SESSION_TAGS, Identity, identity_of, role_where
from .cognito import is_public
from .policy import Caller, Policy, Request, decide, evaluate, parse, parse_document, trusts
from .resources import parameter as resource_parameter
from .resources import resource_arn

ALWAYS_ALLOWED = "sts:GetCallerIdentity"
CFN_RESPONSE_PATH = re.compile(r"^/cloudformation_[a-z0-9-]+/cfnresponse$")  # custom_resources.response_url
LISTINGS = ("s3:ListBucket", "s3:ListBucketVersions")
LISTING_KEYS = ("prefix", "delimiter", "max-keys")
READS = ("s3:GetObject", "s3:GetObjectVersion")
ANYONE = Caller("anonymous", "anonymous", "")
# moto's pre-check names the action after the HTTP method
# API calls AWS authorizes with another action's permission (moto asks for the call's own name)
AUTHORIZED_AS = {"s3:HeadBucket": "s3:ListBucket", "sqs:SendMessageBatch": "sqs:SendMessage",
                 "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
                 "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility"}
PRE_CHECK_ACTIONS = {"s3:HeadObject": "s3:GetObject", "s3:PostObject": "s3:PutObject"}

Checker = Callable[[str, str], Any]
_EACH_KEY: ContextVar[Checker | None] = ContextVar("ncap_each_key", default=None)


def install() -> None:
    """Patch moto's IAM checks (idempotent)."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMRequestBase
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response
    from moto.sts.responses import TokenResponse

    if getattr(IAMRequestBase.check_action_permitted, "ncap_enforced", False):
        return
    patches = [(IAMRequestBase, "check_action_permitted", check_action_permitted),
               (FakeBucket, "get_permission", bucket_permission),
               (TokenResponse, "assume_role", _recording_policy_arns(TokenResponse.assume_role)),
               (S3Response, "_bucket_response_delete_keys",
                _checking_each_key(S3Response._bucket_response_delete_keys)),
               (S3Response, "_key_response", _preflight_by_cors(S3Response._key_response)),
               (ActionAuthenticatorMixin, "_authenticate_and_authorize_action",
                _answers_unsigned(ActionAuthenticatorMixin._authenticate_and_authorize_action))]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)


def _preflight_by_cors(key_response: Callable) -> Callable:
    """A browser's CORS preflight of an object is answered by the bucket's CORS rules alone, as on
    AWS (moto refuses one for an object that exists, whose ACL is not public)."""
    def answering(response: Any, request: Any, full_url: str, *args: Any, **kwargs: Any) -> Any:
        if request.method == "OPTIONS":
            return response._response_options(request.headers, response.parse_bucket_name_from_url(request, full_url))
        return key_response(response, request, full_url, *args, **kwargs)

    return answering


def _answers_unsigned(authorize: Callable) -> Callable:
    """A custom resource's answer needs no signature: on AWS it goes to a presigned S3 URL, which
    is its only credential (moto would ask an unsigned request for its Authorization header). Nor
    does a user pool's public API (cognito.PUBLIC_ACTIONS), nor a browser's CORS preflight to S3
    (the bucket's CORS rules answer it)."""
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.s3.responses import S3Response

    # moto lets through any request whose X-Amz-Target names one of a few Cognito operations,
    # whatever the service: the check below takes their place, for Cognito's own requests only
    ActionAuthenticatorMixin.PUBLIC_OPERATIONS = []

    def authorizing(response: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(response, CloudFormationResponse) and CFN_RESPONSE_PATH.match(str(getattr(response, "path", ""))):
            return
        if isinstance(response, CognitoIdpResponse) and is_public(getattr(response, "headers", None)):
            return  # Cognito's own checks: a token, a code or a password
        if isinstance(response, S3Response) and getattr(response, "method", "") == "OPTIONS":
            return  # a browser's CORS preflight: answered by the bucket's CORS rules, unsigned, as on AWS
        authorize(response, *args, **kwargs)

    return authorizing


def iam_enforced() -> bool:
    """Whether moto checks the current request (its own test, in ActionAuthenticatorMixin)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


# --- the check ----------------------------------------------------------------------------------

def check_action_permitted(iam_request: Any, resource: str) -> None:
    """moto's IAMRequestBase.check_action_permitted, as AWS decides."""
    if iam_request._action == ALWAYS_ALLOWED:
        return
    identity = identity_of(iam_request)
    if resource == "*" and iam_request._service != "s3":
        resource = resource_arn(iam_request) or resource
    action = AUTHORIZED_AS.get(iam_request._action, iam_request._action)
    asked = Request(action, resource, {**identity.context, **request_context(iam_request)})
    if not (_allowed(iam_request, identity, asked) and _also_allowed(iam_request, identity, asked)):
        iam_request._raise_access_denied()


check_action_permitted.ncap_enforced = True  # type: ignore[attr-defined]


def _allowed(iam_request: Any, identity: Identity, asked: Request) -> bool:
    if asked.action == "s3:DeleteObject" and "delete" in _query(iam_request):
        return True  # DeleteObjects: each key is checked (_checking_each_key)
    bucket = bucket_policy(iam_request, asked.resource) if iam_request._service == "s3" else None
    if not decide(asked, identity.policies, identity.session, bucket, identity.caller):
        return False
    if asked.action != "sts:AssumeRole":
        return True
    if "aws:tagkeys" in asked.context:  # tags on the session: sts:TagSession is asked for as well
        tagging = replace(asked, action="sts:TagSession")
        if not (decide(tagging, identity.policies, identity.session, None, identity.caller)
                and _trusted(iam_request, identity, tagging)):
            return False
    return _trusted(iam_request, identity, asked)


def _also_allowed(iam_request: Any, identity: Identity, asked: Request) -> bool:
    """What AWS checks besides the action itself: a copy's source, a missing key's listing."""
    if iam_request._service != "s3":
        return True
    source = copy_source(iam_request)
    if source is not None and iam_request._method == "PUT" and not may(iam_request, identity, _read(asked, *source)):
        return False
    if asked.action in READS and iam_request._method in ("GET", "HEAD") and _missing(iam_request, asked.resource):
        listing = Request("s3:ListBucket", asked.resource.split("/", 1)[0], _without_listing_keys(asked.context))
        return may(iam_request, identity, listing)
    return True


def may(iam_request: Any, identity: Identity, asked: Request) -> bool:
    """Whether the caller may do `asked` on S3 (its identity and session policies, the bucket's)."""
    return decide(asked, identity.policies, identity.session, bucket_policy(iam_request, asked.resource),
                  identity.caller)


def _read(asked: Request, bucket: str, key: str, version: str | None) -> Request:
    partition = asked.resource.split(":")[1]
    return Request("s3:GetObjectVersion" if version else "s3:GetObject", f"arn:{partition}:s3:::{bucket}/{key}",
                   _without_listing_keys(asked.context))


def _without_listing_keys(context: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    return {k: v for k, v in context.items() if not k.startswith("s3:")}


# --- the request's context and resources --------------------------------------------------------

def _query(iam_request: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(iam_request._path).query, keep_blank_values=True)


def request_context(iam_request: Any) -> dict[str, tuple[str, ...]]:
    """The condition keys the request itself carries (besides the caller's)."""
    context: dict[str, tuple[str, ...]] = {}
    if iam_request._action in LISTINGS:
        query = _query(iam_request)
        context.update({f"s3:{name}": (query[name][0],) for name in LISTING_KEYS if name in query})
    elif iam_request._action == "sts:AssumeRole":
        for name, key in (("RoleSessionName", "sts:rolesessionname"), ("ExternalId", "sts:externalid")):
            value = iam_request._data.get(name)
            if value:
                context[key] = (value[0] if isinstance(value, list) else value,)
        tags = session_tags(iam_request._data)
        context.update({f"aws:requesttag/{key.lower()}": (value,) for key, value in tags.items()})
        if tags:
            context["aws:tagkeys"] = tuple(tags)
    elif iam_request._action in ("ses:SendEmail", "ses:SendRawEmail"):
        source = resource_parameter(iam_request, "Source")
        if source:
            context["ses:fromaddress"] = (source,)
    return context


def session_tags(data: Any) -> dict[str, str]:
    """The Tags of an AssumeRole request's parameters (Tags.member.N.Key / .Value)."""
    def one(name: str) -> str | None:
        value = data.get(name)
        return (value[0] if isinstance(value, list) else value) if value else None

    found, position = {}, 1
    while (key := one(f"Tags.member.{position}.Key")) is not None:
        found[key] = one(f"Tags.member.{position}.Value") or ""
        position += 1
    return found


def bucket_policy(iam_request: Any, resource: str) -> Policy | None:
    """The policy of the bucket an S3 ARN names, if it has one."""
    bucket = _bucket(iam_request, _s3_path(resource).split("/", 1)[0])
    if bucket is None or bucket.policy is None:
        return None
    return parse(bucket.policy.decode() if isinstance(bucket.policy, bytes) else bucket.policy)


def _s3_path(resource: str) -> str:
    """bucket/key (or bucket) of an S3 ARN."""
    return resource.split(":::", 1)[-1]


def _bucket(iam_request: Any, name: str) -> Any:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    return s3_backends[iam_request.account_id][get_partition(iam_request._region)].buckets.get(name)


def copy_source(iam_request: Any) -> tuple[str, str, str | None] | None:
    """(bucket, key, version id or None) of a CopyObject's or UploadPartCopy's source."""
    header = iam_request._headers.get("x-amz-copy-source")
    if not header:
        return None
    path, _, query = header.partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    version = parse_qs(query).get("versionId", [None])[0]
    return bucket, key, version


def _missing(iam_request: Any, resource: str) -> bool:
    """Whether the object an S3 ARN names (the request's version, if it names one) does not exist
    in an existing bucket."""
    from moto.s3.models import FakeKey

    bucket_name, _, key = _s3_path(resource).partition("/")
    bucket = _bucket(iam_request, bucket_name)
    if bucket is None:
        return False
    version = _query(iam_request).get("versionId", [None])[0]
    if version is not None:
        return not any(str(v.version_id) == version for v in bucket.keys.getlist(key, default=[]))
    return not isinstance(bucket.keys.get(key), FakeKey)


# --- sts:AssumeRole -----------------------------------------------------------------------------

def _trusted(iam_request: Any, identity: Identity, asked: Request) -> bool:
    """Whether the role's trust policy lets the caller assume it. A role of another account is
    left to moto (which has no trust check for it); a missing role of this account is denied."""
    role = role_where(iam_request.backend, lambda r: r.arn == asked.resource)
    if role is None:
        return f":{identity.caller.account}:" not in asked.resource
    context = dict(asked.context)
    if identity.caller.service:
        context["aws:sourceaccount"] = (identity.caller.account,)
    return trusts(parse_document(role.assume_role_policy_document), replace(asked, context=context),
                  identity.caller)


def _recording_policy_arns(assume_role: Callable) -> Callable:
    """moto's AssumeRole keeps the inline session policy on the session; this records PolicyArns
    and the session's tags (which its requests then carry as aws:PrincipalTag/KEY)."""
    def recording(response: Any) -> Any:
        result = assume_role(response)
        arns = tuple(entry["arn"] for entry in response._get_param("PolicyArns") or [])
        if arns:
            setattr(result.result["Credentials"], SESSION_POLICY_ARNS, arns)
        tags = {str(entry.get("Key", entry.get("key"))): str(entry.get("Value", entry.get("value", "")))
                for entry in response._get_param("Tags") or [] if isinstance(entry, dict)}
        if tags:
            setattr(result.result["Credentials"], SESSION_TAGS, tags)
        return result
    return recording


# --- bucket policies outside the check: moto's pre-check and DeleteObjects ------------------------

def bucket_permission(bucket: Any, action: str, resource: str) -> Any:
    """moto's FakeBucket.get_permission. Once IAM is enforced the check above reads the bucket's
    policy with the caller known, so this says nothing (except for DeleteObjects' keys); before,
    the statements for everyone apply."""
    from moto.iam.access_control import PermissionResult

    each_key = _EACH_KEY.get()
    if each_key is not None:
        return each_key(action, resource)
    if bucket.policy is None or iam_enforced():
        return PermissionResult.NEUTRAL
    asked = Request(PRE_CHECK_ACTIONS.get(action, action), resource, {"aws:securetransport": (SECURE_TRANSPORT,)})
    outcome = evaluate(parse(bucket.policy.decode()), asked, ANYONE)
    if outcome.denied:
        return PermissionResult.DENIED
    return PermissionResult.PERMITTED if outcome.allowed else PermissionResult.NEUTRAL


def _checking_each_key(delete_keys: Callable) -> Callable:
    """moto's DeleteObjects, with each key checked for the caller (moto asks bucket_permission)."""
    def checking(response: Any, bucket_name: str, authenticated: bool = True) -> Any:
        if not authenticated or not iam_enforced():
            return delete_keys(response, bucket_name, authenticated)
        iam_request = _iam_request_of(response)
        identity, versioned = identity_of(iam_request), _versioned_keys(response.body)
        token = _EACH_KEY.set(lambda action, resource: _key_permission(iam_request, identity, versioned, resource))
        try:
            return delete_keys(response, bucket_name, authenticated)
        finally:
            _EACH_KEY.reset(token)
    return checking


def _iam_request_of(response: Any) -> Any:
    from moto.iam.access_control import S3IAMRequest

    path = response.raw_path + (f"?{urlsplit(response.uri).query}" if urlsplit(response.uri).query else "")
    return S3IAMRequest(account_id=response.current_account, method=response.method, path=path,
                        data=response.data, body=response.raw_body, headers=response.headers,
                        action="DeleteObject")


def _versioned_keys(body: bytes | str) -> dict[str, set[bool]]:
    """key -> whether its entries in a DeleteObjects body name a version (True), not (False), or both."""
    import xmltodict

    objects = xmltodict.parse(body).get("Delete", {}).get("Object", [])
    found: dict[str, set[bool]] = {}
    for entry in objects if isinstance(objects, list) else [objects]:
        found.setdefault(entry.get("Key", ""), set()).add(bool(entry.get("VersionId")))
    return found


def _key_permission(iam_request: Any, identity: Identity, versioned: dict[str, set[bool]], resource: str) -> Any:
    from moto.iam.access_control import PermissionResult

    key = _s3_path(resource).partition("/")[2]
    actions = ["s3:DeleteObjectVersion" if v else "s3:DeleteObject" for v in versioned.get(key, {False})]
    allowed = all(may(iam_request, identity, Request(a, resource, identity.context)) for a in actions)
    return PermissionResult.NEUTRAL if allowed else PermissionResult.DENIED
