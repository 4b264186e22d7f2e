"""The pipeline's IAM users: made once however many labs list them, each with one access key
kept in Secrets Manager only, and never rotated by an update.

Custom::LabMembers (one per lab, or per part of a lab of more than a few hundred users).
Properties: Group (the lab's IAM group), Users (users the pipeline creates), ExistingUsers (users
made elsewhere, only joined to the group), UserPath ("/ncap/PIPELINE/"), SecretPrefix (the
users' key secrets, "ncap/PIPELINE/keys/"), ConsolePrefix and ConsoleLogin ("true": a console
password, in ConsolePrefix + user), and, on the lab's first part only, Roster (every member of the
lab, all parts together; that part runs after the others).
- Create and Update: each user of Users is made under UserPath unless it exists (a user of that
  name outside UserPath is refused: it belongs to someone else), gets its key unless its secret
  exists already, a console password if asked, and joins Group; ExistingUsers join Group. With a
  Roster, members of Group that the Roster does not name leave it.
- Delete: Users and ExistingUsers leave Group, and a user of Users that is then in no group of the
  pipeline (no group under UserPath) is deleted with its key, console login and secrets. (A Delete
  comes in CloudFormation's clean-up, after every lab of the change has added its users, so a
  person moving to another lab is in that lab's group by then.)
An Update never deletes a user (a lab updated at the same time may be adding it):
Custom::PipelineUsers, which runs after every lab, deletes the users an update left in no group.

Custom::PipelineUsers (one per pipeline, after every lab). Properties: UserPath, GroupPath,
SecretPrefix, ConsolePrefix, Generation (changes when the set of users changes).
- Create and Update: each user under UserPath that is in no group under GroupPath is deleted with
  its keys, console login and secrets.
- Delete: every user under UserPath is deleted so (the stack is going).

A Custom::UserCredentials of an earlier version of the template (one per lab) gets its Delete
answered without change: its users' keys and secrets (the same names) now belong to LabMembers.

Two labs adding one new person at once make one key: the key's secret is created first, with the
tag ncap:key "pending", and only the request that created it makes the key (and sets the tag to
"stored"); the other finds the secret and leaves it. No secret value is ever read, logged or
returned. Permissions used: iam:CreateUser, GetUser, DeleteUser, ListUsers, ListAccessKeys,
CreateAccessKey, DeleteAccessKey, GetLoginProfile, CreateLoginProfile, DeleteLoginProfile,
ListGroupsForUser, AddUserToGroup, RemoveUserFromGroup, GetGroup; secretsmanager:CreateSecret,
DescribeSecret, PutSecretValue, DeleteSecret, TagResource.
"""
import json
import secrets as random
import string
import time
from dataclasses import dataclass

import boto3

from ncap_lambda.aws_errors import is_error
from ncap_lambda.cfn_response import custom_resource
from ncap_lambda.log import get_logger, log_decision
from ncap_lambda.properties import flag, name_list, text

LOG = get_logger("users")
KEY_TAG = "ncap:key"
PENDING, STORED = "pending", "stored"
PASSWORD_LENGTH = 24
PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#%+-.:=?_"
PENDING_WAIT_S = 20  # how long a request waits for another one's key before taking the secret over


@dataclass(frozen=True)
class Clients:
    iam: object
    secrets: object


@dataclass(frozen=True)
class Members:
    group: str
    users: tuple
    existing: tuple
    user_path: str
    secret_prefix: str
    console_prefix: str
    console: bool
    roster: tuple | None  # None: not the lab's first part


def read_members(properties):
    roster = properties.get("Roster")
    return Members(text(properties, "Group"), tuple(name_list(properties, "Users")),
                   tuple(name_list(properties, "ExistingUsers")), text(properties, "UserPath"),
                   text(properties, "SecretPrefix"), text(properties, "ConsolePrefix"),
                   flag(properties, "ConsoleLogin"),
                   tuple(name_list(properties, "Roster")) if roster is not None else None)


def ignore(error, *codes):
    """Re-raise unless `error` is an AWS error with one of `codes`."""
    if not is_error(error, *codes):
        raise error


# --- one user -------------------------------------------------------------------------------

def ensure_user(iam, user, path):
    """The user exists under `path` (made if missing); one outside it belongs to someone else."""
    try:
        iam.create_user(UserName=user, Path=path)
        log_decision(LOG, "create-user", user=user)
        return
    except Exception as error:
        ignore(error, "EntityAlreadyExists")
    found = iam.get_user(UserName=user)["User"].get("Path", "/")
    if found != path:
        raise ValueError(f"IAM user {user} exists outside this pipeline (path {found}): list it under the "
                         f"lab's ExistingUserNames, or rename it")


def key_state(secrets, name):
    """"pending", "stored", "gone" (scheduled for deletion) or None (no such secret)."""
    try:
        described = secrets.describe_secret(SecretId=name)
    except Exception as error:
        ignore(error, "ResourceNotFoundException")
        return None
    if described.get("DeletedDate"):
        return "gone"
    return {tag["Key"]: tag["Value"] for tag in described.get("Tags", [])}.get(KEY_TAG, STORED)


def claim(secrets, name):
    """Create the user's key secret as a lock: True when this request made it."""
    try:
        secrets.create_secret(Name=name, SecretString=json.dumps({"state": PENDING}),
                              Description="Access key of a lab user of this pipeline",
                              Tags=[{"Key": KEY_TAG, "Value": PENDING}])
        return True
    except Exception as error:
        ignore(error, "ResourceExistsException")
        return False


def ensure_key(clients, user, name):
    """One access key for the user, in its secret; an existing stored key is never replaced."""
    if claim(clients.secrets, name) or settled_state(clients.secrets, name) == PENDING:
        store_new_key(clients, user, name)
    else:
        log_decision(LOG, "keep-user-key", user=user)


def settled_state(secrets, name):
    """The key state once another request's pending key is stored (or it gave up)."""
    deadline = time.monotonic() + PENDING_WAIT_S
    state = key_state(secrets, name)
    while state == PENDING and time.monotonic() < deadline:
        time.sleep(1)
        state = key_state(secrets, name)
    return state


def store_new_key(clients, user, name):
    for key_id in access_key_ids(clients.iam, user):
        clients.iam.delete_access_key(UserName=user, AccessKeyId=key_id)
    key = clients.iam.create_access_key(UserName=user)["AccessKey"]
    value = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"], "UserName": user}
    clients.secrets.put_secret_value(SecretId=name, SecretString=json.dumps(value))
    clients.secrets.tag_resource(SecretId=name, Tags=[{"Key": KEY_TAG, "Value": STORED}])
    log_decision(LOG, "create-access-key", user=user, secret=name)


def access_key_ids(iam, user):
    try:
        pages = iam.get_paginator("list_access_keys").paginate(UserName=user)
        return [key["AccessKeyId"] for page in pages for key in page["AccessKeyMetadata"]]
    except Exception as error:
        ignore(error, "NoSuchEntity")
        return []


def ensure_console(clients, user, name):
    """A console password (changed at first sign-in) when the user has no console login yet."""
    try:
        clients.iam.get_login_profile(UserName=user)
        return
    except Exception as error:
        ignore(error, "NoSuchEntity")
    password = "".join(random.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
    value = json.dumps({"username": user, "password": password})
    try:
        clients.secrets.create_secret(Name=name, SecretString=value, Description="Console password of a lab user")
    except Exception as error:
        ignore(error, "ResourceExistsException")
        clients.secrets.put_secret_value(SecretId=name, SecretString=value)
    clients.iam.create_login_profile(UserName=user, Password=password, PasswordResetRequired=True)
    log_decision(LOG, "create-console-login", user=user, secret=name)


# --- a lab's members ------------------------------------------------------------------------

def add_members(clients, spec):
    for user in spec.users:
        ensure_user(clients.iam, user, spec.user_path)
        ensure_key(clients, user, spec.secret_prefix + user)
        if spec.console:
            ensure_console(clients, user, spec.console_prefix + user)
    for user in spec.users + spec.existing:
        clients.iam.add_user_to_group(GroupName=spec.group, UserName=user)
    log_decision(LOG, "lab-members", group=spec.group, users=len(spec.users), existing=len(spec.existing))


def group_members(iam, group):
    pages = iam.get_paginator("get_group").paginate(GroupName=group)
    return [user["UserName"] for page in pages for user in page["Users"]]


def apply_roster(iam, spec):
    """Members of the group that the lab no longer lists leave it."""
    listed = {user.lower() for user in spec.roster}
    for user in group_members(iam, spec.group):
        if user.lower() not in listed:
            leave(iam, spec.group, user)


def leave(iam, group, user):
    try:
        iam.remove_user_from_group(GroupName=group, UserName=user)
        log_decision(LOG, "leave-group", group=group, user=user)
    except Exception as error:
        ignore(error, "NoSuchEntity")


def lab_members(request, clients, properties):
    spec = read_members(properties)
    if request == "Delete":
        for user in spec.users + spec.existing:
            leave(clients.iam, spec.group, user)
        for user in spec.users:
            retire_if_unlisted(clients, user, spec.user_path, properties)
        return
    add_members(clients, spec)
    if spec.roster is not None:
        apply_roster(clients.iam, spec)


# --- the pipeline's users -------------------------------------------------------------------

def pipeline_users(iam, path):
    pages = iam.get_paginator("list_users").paginate(PathPrefix=path)
    return [user["UserName"] for page in pages for user in page["Users"] if user.get("Path") == path]


def groups_of(iam, user):
    pages = iam.get_paginator("list_groups_for_user").paginate(UserName=user)
    return [group for page in pages for group in page["Groups"]]


def retire(clients, user, properties):
    """Delete the user, first its keys, console login, group memberships and secrets."""
    try:
        groups = groups_of(clients.iam, user)
    except Exception as error:
        ignore(error, "NoSuchEntity")
        return
    for group in groups:
        leave(clients.iam, group["GroupName"], user)
    for key_id in access_key_ids(clients.iam, user):
        clients.iam.delete_access_key(UserName=user, AccessKeyId=key_id)
    try:
        clients.iam.delete_login_profile(UserName=user)
    except Exception as error:
        ignore(error, "NoSuchEntity")
    for prefix in ("SecretPrefix", "ConsolePrefix"):
        try:
            clients.secrets.delete_secret(SecretId=properties[prefix] + user, ForceDeleteWithoutRecovery=True)
        except Exception as error:
            ignore(error, "ResourceNotFoundException")
    try:
        clients.iam.delete_user(UserName=user)
    except Exception as error:
        ignore(error, "NoSuchEntity")  # another lab's Delete retired it at the same time
        return
    log_decision(LOG, "delete-user", user=user)


def in_a_pipeline_group(iam, user, group_path):
    return any(group.get("Path") == group_path for group in groups_of(iam, user))


def retire_if_unlisted(clients, user, path, properties):
    """Delete a user of the pipeline that no lab of it has in its group."""
    try:
        if clients.iam.get_user(UserName=user)["User"].get("Path") != path or \
                in_a_pipeline_group(clients.iam, user, path):
            return
    except Exception as error:
        ignore(error, "NoSuchEntity")
        return
    retire(clients, user, properties)


def clean_up(request, clients, properties):
    path, group_path = text(properties, "UserPath"), text(properties, "GroupPath")
    for user in pipeline_users(clients.iam, path):
        if request == "Delete" or not in_a_pipeline_group(clients.iam, user, group_path):
            retire(clients, user, properties)


@custom_resource
def handler(event, context):
    request, kind = event["RequestType"], event.get("ResourceType")
    if request not in ("Create", "Update", "Delete"):
        raise ValueError(f"unknown RequestType {request!r}")
    clients = Clients(boto3.client("iam"), boto3.client("secretsmanager"))
    properties = event["ResourceProperties"]
    if kind == "Custom::UserCredentials" and request == "Delete":
        return event["PhysicalResourceId"], {}
    if kind == "Custom::PipelineUsers":
        clean_up(request, clients, properties)
        return text(properties, "UserPath") + "users", {}
    if kind != "Custom::LabMembers":
        raise ValueError(f"unknown resource type {kind!r}")
    lab_members(request, clients, properties)
    return f"{text(properties, 'Group')}-{event['LogicalResourceId']}", {}
