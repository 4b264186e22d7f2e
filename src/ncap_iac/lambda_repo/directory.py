"""The directory function: one Lambda of the directory's stack, answering three kinds of event.

- Its function URL (HTTPS, JSON): a signed-in person's requests. The caller's Cognito access
  token (`Authorization: Bearer ...`) is checked by Cognito itself (GetUser), and the person's
  labs are the pool's groups (people.py). Actions: labs, join, invite, approve, refuse, remove,
  members, credentials. `credentials` hands a member of a lab a session of the pipeline's member
  role tagged with that lab, for at most an hour: the role's policy (IAM, not this code) confines
  the session to the lab's folders.
- The user pool's pre sign-up trigger: a sign-up from an address outside the directory's
  sign-up domains is refused (invitations are always let through).
- Its `Custom::DirectoryLabs` resource: each lab's groups, and its admins invited.

Lines it logs name actions, labs and pipelines; never a token or a credential."""
import json
import logging
import os
import re

import boto3
from botocore.exceptions import ClientError

from ncap_lambda import people
from ncap_lambda.cfn_response import custom_resource
from ncap_lambda.log import get_logger, log_decision

LOG = get_logger("directory")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_BODY_BYTES = 16384
PAGE = 60  # Cognito's largest page of groups and users
_CLIENTS: dict = {}


class Refused(Exception):
    """A request the directory turns down; its text is the whole answer."""
    status = 403


class BadRequest(Refused):
    status = 400


class NotSignedIn(Refused):
    status = 401


class NotFound(Refused):
    status = 404


class Busy(Refused):
    status = 429


def handler(event, context):
    if isinstance(event, dict) and "RequestType" in event:
        if event.get("ResourceType") == "Custom::PortalFiles":
            return portal_files(event, context)
        return labs_resource(event, context)
    if isinstance(event, dict) and "triggerSource" in event:
        return pre_sign_up(event, sign_up_domains())
    return http(event)


def aws(service):
    if service not in _CLIENTS:
        _CLIENTS[service] = boto3.client(service)
    return _CLIENTS[service]


def pool_id():
    return os.environ["USER_POOL_ID"]


def sign_up_domains():
    return [d.strip().lower().lstrip("@.") for d in os.environ.get("SIGN_UP_DOMAINS", "").split(",") if d.strip()]


# --- sign-up -------------------------------------------------------------------------------------

def pre_sign_up(event, domains):
    """The pre sign-up trigger: Cognito refuses the sign-up when this raises."""
    refusal = people.sign_up_refusal(event, domains)
    if refusal:
        email = ((event.get("request") or {}).get("userAttributes") or {}).get("email", "")
        log_decision(LOG, "sign-up-refused", domain=email.rsplit("@", 1)[-1])
        raise Refused(refusal)
    return event


# --- the function URL ----------------------------------------------------------------------------

def http(event):
    try:
        body = request_body(event)
        person = signed_in(event)
        action = body.get("action")
        if action not in ACTIONS:
            raise BadRequest(f"unknown action {action!r} (one of {', '.join(sorted(ACTIONS))})")
        result = ACTIONS[action](person, body)
        log_decision(LOG, "answered", action=action, lab=body.get("lab"), pipeline=body.get("pipeline"))
        return respond(200, result)
    except Refused as refusal:
        log_decision(LOG, "refused", logging.WARNING, status=refusal.status, reason=str(refusal))
        return respond(refusal.status, {"error": str(refusal)})


def respond(status, document):
    return {"statusCode": status, "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
            "body": json.dumps(document, default=str)}


def request_body(event):
    raw = (event or {}).get("body") or ""
    if (event or {}).get("isBase64Encoded"):
        import base64
        try:
            raw = base64.b64decode(raw).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the request's body is not UTF-8 JSON") from None
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("the request is too large")
    try:
        body = json.loads(raw or "{}")
    except ValueError:
        raise BadRequest("the request's body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the request's body must be a JSON object")
    return body


class Person:
    def __init__(self, username, email, groups):
        self.username, self.email = username, email
        self.roles: dict = {}
        for group in groups:
            lab, role = people.lab_of_group(group)
            self.roles.setdefault(lab, set()).add(role)

    def is_member(self, lab):
        return "member" in self.roles.get(lab, ())

    def is_admin(self, lab):
        return "admin" in self.roles.get(lab, ())


def token_claims(token):
    """The claims of a JWT, unverified (Cognito's GetUser verifies the token afterwards)."""
    import base64

    parts = token.split(".")
    if len(parts) != 3:
        raise NotSignedIn("sign in again: that is not an access token")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise NotSignedIn("sign in again: that is not an access token") from None
    if not isinstance(claims, dict):
        raise NotSignedIn("sign in again: that is not an access token")
    return claims


def issuer():
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "")
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id()}"


def signed_in(event):
    """The person a request's access token names. The token must be this directory's: issued by its
    user pool to its app client (GetUser alone would accept any pool's token, and a name from
    another pool could be taken for one of ours); Cognito then checks its signature and that it
    is not revoked, and the person is read from this pool by the token's subject."""
    headers = {k.lower(): v for k, v in ((event or {}).get("headers") or {}).items()}
    scheme, _, token = str(headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotSignedIn("sign in first (ncap lab login)")
    token = token.strip()
    claims = token_claims(token)
    if claims.get("iss") != issuer() or claims.get("token_use") != "access" or \
            claims.get("client_id") != os.environ.get("CLIENT_ID") or not claims.get("sub"):
        raise NotSignedIn("sign in again: that token is not one of this directory's")
    try:
        user = aws("cognito-idp").get_user(AccessToken=token)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("NotAuthorizedException", "UserNotFoundException", "InvalidParameterException"):
            raise NotSignedIn("the login has expired or was signed out: sign in again (ncap lab login)") from None
        if code in ("TooManyRequestsException", "LimitExceededException"):
            raise Busy("the directory is busy: try again in a few seconds") from None
        raise
    attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
    if attributes.get("sub") != claims["sub"]:
        raise NotSignedIn("sign in again: that token is not one of this directory's")
    found = aws("cognito-idp").admin_get_user(UserPoolId=pool_id(), Username=user["Username"])
    stored = {a["Name"]: a["Value"] for a in found.get("UserAttributes", [])}
    if stored.get("sub") != claims["sub"] or not found.get("Enabled", True):
        raise NotSignedIn("sign in again: that token is not one of this directory's")
    email = stored.get("email", "") if stored.get("email_verified") == "true" else ""
    return Person(found["Username"], email.lower(), groups_of(found["Username"]))


def groups_of(username):
    found, token = [], None
    while True:
        page = aws("cognito-idp").admin_list_groups_for_user(
            UserPoolId=pool_id(), Username=username, Limit=PAGE, **({"NextToken": token} if token else {}))
        found += [g["GroupName"] for g in page.get("Groups", [])]
        token = page.get("NextToken")
        if not token:
            return found


def lab_of(body):
    lab = body.get("lab")
    if not isinstance(lab, str) or not people.LAB_NAME.match(lab):
        raise BadRequest("name a lab: lowercase letters, digits and dashes")
    return lab


def email_of(body):
    email = body.get("email")
    if not isinstance(email, str) or not EMAIL.match(email) or len(email) > 254:
        raise BadRequest("give an email address")
    return email.strip().lower()


def admin_of(person, body):
    lab = lab_of(body)
    if not person.is_admin(lab):
        raise Refused(f"only an admin of {lab} can do that")
    return lab


def every_lab():
    labs, token = set(), None
    while True:
        page = aws("cognito-idp").list_groups(UserPoolId=pool_id(), Limit=PAGE,
                                              **({"NextToken": token} if token else {}))
        labs |= {people.lab_of_group(g["GroupName"])[0] for g in page.get("Groups", [])}
        token = page.get("NextToken")
        if not token:
            return labs


def registrations():
    """pipeline -> its registration (bucket, region, labs, budgets_usd, role_arn, folders)."""
    found, token = {}, None
    path = people.registration_path(os.environ["DIRECTORY"])
    while True:
        page = aws("ssm").get_parameters_by_path(Path=path, Recursive=False,
                                                 **({"NextToken": token} if token else {}))
        for parameter in page.get("Parameters", []):
            try:
                document = json.loads(parameter["Value"])
            except ValueError:
                log_decision(LOG, "registration-unreadable", logging.ERROR, name=parameter["Name"])
                continue
            if isinstance(document, dict):
                found[parameter["Name"][len(path):]] = document
        token = page.get("NextToken")
        if not token:
            return found


def labs(person, body):
    registered = registrations()
    mine = []
    for lab in sorted(person.roles):
        roles = sorted(person.roles[lab])
        pipelines = sorted(p for p, r in registered.items() if lab in (r.get("labs") or []))
        mine.append({"lab": lab, "roles": roles, "pipelines": pipelines if person.is_member(lab) else []})
    return {"email": person.email, "labs": mine, "others": sorted(every_lab() - set(person.roles))}


def user_of(email):
    """The pool's username of `email`, or None."""
    try:
        return aws("cognito-idp").admin_get_user(UserPoolId=pool_id(), Username=email)["Username"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "UserNotFoundException":
            return None
        raise


def require_lab(lab):
    try:
        aws("cognito-idp").get_group(UserPoolId=pool_id(), GroupName=lab)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise NotFound(f"no lab {lab} in this directory") from None
        raise


def add(username, group):
    aws("cognito-idp").admin_add_user_to_group(UserPoolId=pool_id(), Username=username, GroupName=group)


def drop(username, group):
    aws("cognito-idp").admin_remove_user_from_group(UserPoolId=pool_id(), Username=username, GroupName=group)


def notify(addresses, subject, text):
    """An email from the directory (Mail.From, through SES), when it has an address to send from;
    a notice that cannot be sent is logged and changes nothing of the request."""
    sender = os.environ.get("MAIL_FROM")
    addresses = sorted({a for a in addresses if a})
    if not sender or not addresses:
        return
    try:
        aws("ses").send_email(Source=sender, Destination={"ToAddresses": addresses},
                              Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": text}}})
    except ClientError as error:
        log_decision(LOG, "notice-not-sent", logging.WARNING, code=error.response["Error"]["Code"],
                     recipients=len(addresses))


def emails_in(group):
    return [{a["Name"]: a["Value"] for a in user.get("Attributes", [])}.get("email", "") for user in users_in(group)]


def join(person, body):
    lab = lab_of(body)
    require_lab(lab)
    if person.is_member(lab):
        return {"lab": lab, "state": "member"}
    if "requested" in person.roles.get(lab, ()):
        return {"lab": lab, "state": "requested"}  # asked before: the admins were told then
    add(person.username, people.requests_group(lab))
    notify(emails_in(people.admins_group(lab)), f"{person.email} asks to join {lab}",
           f"{person.email} asks to join {lab}. As an admin of {lab}: ncap lab approve {person.email} --lab {lab} "
           f"(or ncap lab refuse {person.email} --lab {lab}).")
    return {"lab": lab, "state": "requested"}


def invite_person(email):
    """The username of `email`, invited first when the directory does not know the address
    (Cognito emails the invitation with a temporary password)."""
    known = user_of(email)
    if known:
        status = aws("cognito-idp").admin_get_user(UserPoolId=pool_id(), Username=known).get("UserStatus")
        if status == "FORCE_CHANGE_PASSWORD":  # invited, never signed in: the invitation again, a new password
            aws("cognito-idp").admin_create_user(UserPoolId=pool_id(), Username=email, MessageAction="RESEND",
                                                 DesiredDeliveryMediums=["EMAIL"])
            return known, True
        return known, False
    made = aws("cognito-idp").admin_create_user(
        UserPoolId=pool_id(), Username=email, DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}])
    return made["User"]["Username"], True


def invite(person, body):
    lab, email = admin_of(person, body), email_of(body)
    username, invited = invite_person(email)
    add(username, lab)
    drop(username, people.requests_group(lab))
    if not invited:  # a new person's invitation is Cognito's own email
        notify([email], f"You are a member of {lab}", f"{person.email} added you to {lab}: ncap lab labs lists it.")
    return {"lab": lab, "email": email, "state": "invited" if invited else "member"}


def asked(lab, email):
    username = user_of(email)
    if username is None or people.requests_group(lab) not in groups_of(username):
        raise NotFound(f"{email} has not asked to join {lab}")
    return username


def approve(person, body):
    lab, email = admin_of(person, body), email_of(body)
    username = asked(lab, email)
    add(username, lab)
    drop(username, people.requests_group(lab))
    notify([email], f"You are a member of {lab}", f"{person.email} approved your request to join {lab}.")
    return {"lab": lab, "email": email, "state": "member"}


def refuse(person, body):
    lab, email = admin_of(person, body), email_of(body)
    drop(asked(lab, email), people.requests_group(lab))
    notify([email], f"Your request to join {lab}", f"{person.email} did not approve your request to join {lab}.")
    return {"lab": lab, "email": email, "state": "refused"}


def remove(person, body):
    lab, email = admin_of(person, body), email_of(body)
    username = user_of(email)
    groups = groups_of(username) if username else []
    if people.admins_group(lab) in groups:
        raise Refused(f"{email} is an admin of {lab}: admins are set in the directory's config")
    if lab not in groups and people.requests_group(lab) not in groups:
        raise NotFound(f"{email} is not in {lab}")
    for group in (lab, people.requests_group(lab)):
        if group in groups:
            drop(username, group)
    notify([email], f"You are no longer in {lab}", f"{person.email} removed you from {lab}.")
    return {"lab": lab, "email": email, "state": "removed"}


def members(person, body):
    lab = admin_of(person, body)
    found: dict = {}
    for group in (lab, people.admins_group(lab), people.requests_group(lab)):
        for user in users_in(group):
            attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
            entry = found.setdefault(user["Username"], {"email": attributes.get("email", ""), "roles": [],
                                                        "status": user.get("UserStatus", "")})
            entry["roles"].append(people.lab_of_group(group)[1])
    return {"lab": lab, "members": sorted(found.values(), key=lambda m: m["email"])}


def users_in(group):
    found, token = [], None
    while True:
        page = aws("cognito-idp").list_users_in_group(UserPoolId=pool_id(), GroupName=group, Limit=PAGE,
                                                      **({"NextToken": token} if token else {}))
        found += page.get("Users", [])
        token = page.get("NextToken")
        if not token:
            return found


def credentials(person, body):
    lab, pipeline = lab_of(body), body.get("pipeline")
    if not person.is_member(lab):
        raise Refused(f"you are not a member of {lab} (ncap lab join {lab})")
    if not isinstance(pipeline, str) or not pipeline:
        raise BadRequest("name a pipeline")
    registration = registrations().get(pipeline)
    if registration is None or lab not in (registration.get("labs") or []):
        raise NotFound(f"pipeline {pipeline} does not serve {lab}")
    role_arn = str(registration.get("role_arn", ""))
    expected = f":role{people.role_path(os.environ['DIRECTORY'])}{people.member_role_name(pipeline)}"
    if not role_arn.startswith("arn:") or not role_arn.endswith(expected):
        raise NotFound(f"pipeline {pipeline}'s registration names no member role of it in this directory")
    session = aws("sts").assume_role(
        RoleArn=role_arn, RoleSessionName=session_name(person.email), DurationSeconds=people.SESSION_SECONDS,
        Tags=[{"Key": people.LAB_TAG, "Value": lab}])
    keys = session["Credentials"]
    return {"lab": lab, "pipeline": pipeline, "bucket": registration.get("bucket", pipeline),
            "region": registration.get("region"), "folders": registration.get("folders") or {},
            **lab_budget(registration, lab),
            "access_key_id": keys["AccessKeyId"], "secret_access_key": keys["SecretAccessKey"],
            "session_token": keys["SessionToken"], "expiration": keys["Expiration"]}


def lab_budget(registration, lab):
    """{"budget_usd": the lab's monthly budget, or None when it has none}; {} when the registration
    does not say (one written before budgets were registered)."""
    budgets = registration.get("budgets_usd")
    if not isinstance(budgets, dict):
        return {}
    listed = budgets.get("labs")
    own = listed if isinstance(listed, dict) else {}
    value = own[lab] if lab in own else budgets.get("common")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return {"budget_usd": float(value)}
    return {"budget_usd": None}


def session_name(email):
    """Who the session is for, as CloudTrail shows it."""
    return re.sub(r"[^\w+=,.@-]", "-", email, flags=re.ASCII)[:64] or "lab-member"


ACTIONS = {"labs": labs, "join": join, "invite": invite, "approve": approve, "refuse": refuse,
           "remove": remove, "members": members, "credentials": credentials}


# --- the labs resource ---------------------------------------------------------------------------

def lab_admins(properties):
    """lab -> its admins' addresses, from the resource's Labs."""
    return {entry["Name"]: sorted({a.lower() for a in entry.get("Admins", [])})
            for entry in (properties or {}).get("Labs", [])}


@custom_resource
def labs_resource(event, context):
    """Each lab's groups, and its admins invited; a lab the config no longer lists loses its
    groups (its people stay in the directory), an admin it no longer lists stays a member."""
    now = lab_admins(event.get("ResourceProperties"))
    before = lab_admins(event.get("OldResourceProperties")) if event["RequestType"] == "Update" else {}
    physical_id = f"{os.environ['DIRECTORY']}-labs"
    if event["RequestType"] == "Delete":
        return physical_id, {}
    for lab in sorted(set(before) - set(now)):
        for group in (lab, people.admins_group(lab), people.requests_group(lab)):
            try:
                aws("cognito-idp").delete_group(UserPoolId=pool_id(), GroupName=group)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
    for lab, admins in sorted(now.items()):
        for group in (lab, people.admins_group(lab), people.requests_group(lab)):
            try:
                aws("cognito-idp").create_group(UserPoolId=pool_id(), GroupName=group)
            except ClientError as error:
                if error.response["Error"]["Code"] != "GroupExistsException":
                    raise
        for email in admins:
            username, _ = invite_person(email)
            add(username, lab)
            add(username, people.admins_group(lab))
        for email in sorted(set(before.get(lab, [])) - set(admins)):
            username = user_of(email)
            if username:
                drop(username, people.admins_group(lab))
    log_decision(LOG, "labs-made", labs=len(now))
    return physical_id, {"Labs": str(len(now))}


# --- the portal's files --------------------------------------------------------------------------

PORTAL_SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "portal_site")
PORTAL_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".json": "application/json"}


@custom_resource
def portal_files(event, context):
    """The portal's built files (shipped in this function's code) and its settings.json, written
    into the portal's bucket; the bucket is kept when the stack goes (its files are rebuilt ones)."""
    properties = event.get("ResourceProperties") or {}
    physical_id = f"{os.environ['DIRECTORY']}-portal-files"
    if event["RequestType"] == "Delete":
        return physical_id, {}
    bucket, settings = properties["Bucket"], properties.get("Settings") or {}
    for name in sorted(os.listdir(PORTAL_SITE)):
        with open(os.path.join(PORTAL_SITE, name), "rb") as handle:
            aws("s3").put_object(Bucket=bucket, Key=name, Body=handle.read(), CacheControl="no-cache",
                                 ContentType=PORTAL_TYPES.get(os.path.splitext(name)[1], "application/octet-stream"))
    aws("s3").put_object(Bucket=bucket, Key="settings.json", Body=json.dumps(settings, sort_keys=True).encode(),
                         ContentType="application/json", CacheControl="no-cache")
    log_decision(LOG, "portal-written", files=len(os.listdir(PORTAL_SITE)) + 1)
    return physical_id, {}
