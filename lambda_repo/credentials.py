"""Custom::UserCredentials: one access key per lab user, kept only in Secrets Manager.

One resource per lab. Properties: Lab (the affiliate), Users (that lab's IAM users), SecretPrefix
(e.g. "ncap/<pipeline>/keys/", the same for every lab of a pipeline). The physical id is
SecretPrefix + Lab. Each user's key is stored as JSON {"AccessKeyId", "SecretAccessKey",
"UserName"} in the secret SecretPrefix + user, tagged "ncap:lab" = the lab that owns it. The
answer's Data holds one attribute per user, "SecretArn" + CamelCase(user), whose value is the
secret's ARN: never the key itself.

- Create: a fresh key and secret per user. Any key the user already has is deleted first, so a
  user never ends with two keys.
- Update: keys and secrets for added users; removed users lose their keys (CloudFormation deletes
  the users next, which fails while a key remains) and their secrets; kept users keep their key
  (one whose secret was lost gets a new key and secret). SecretPrefix and Lab cannot change.
- Delete: every listed user's keys and secret.

A user moving from lab A to lab B gets an Update of A (user removed) and of B (user added), in
either order. B tags the secret with B before making the new key, and a lab retiring a user leaves
alone a secret another lab has tagged: the user ends with B's key alone whichever runs first. A
Delete without Lab (earlier templates' one resource per stack) retires only untagged users.

Permissions used: iam:CreateAccessKey, iam:ListAccessKeys, iam:DeleteAccessKey on the users;
secretsmanager:CreateSecret, PutSecretValue, DescribeSecret, DeleteSecret, TagResource on
SecretPrefix*. The function never reads a secret value.
"""
import json
import re
from dataclasses import dataclass

import boto3

from ncap_lambda.aws_errors import is_error
from ncap_lambda.cfn_response import custom_resource
from ncap_lambda.log import get_logger, log_decision
from ncap_lambda.properties import name_list, text

LOG = get_logger("credentials")
LAB_TAG = "ncap:lab"


@dataclass(frozen=True)
class CredentialSpec:
    users: tuple
    prefix: str
    lab: str | None  # None only in a Delete of an earlier template's per-stack resource

    @property
    def physical_id(self):
        return self.prefix + (self.lab or "")


@dataclass(frozen=True)
class Clients:
    iam: object
    secrets: object


def camel_case(name):
    """'user21' -> 'User21', 'ta.test-key' -> 'TaTestKey'."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


def attribute_name(user):
    """The Data attribute holding the ARN of `user`'s secret."""
    return "SecretArn" + camel_case(user)


def check_attribute_names(users):
    """Refuse users without a usable attribute name, or two users sharing one."""
    owners: dict = {}
    for user in users:
        attribute = attribute_name(user)
        if attribute == "SecretArn" or attribute in owners:
            raise ValueError(f"user {user!r} has no attribute name of its own ({attribute}; "
                             f"also {owners.get(attribute)!r})")
        owners[attribute] = user


def read_spec(properties, lab_required=True):
    """The resource's properties; Lab may be absent only when `lab_required` is False."""
    users = name_list(properties, "Users")
    check_attribute_names(users)
    lab = text(properties, "Lab") if lab_required or "Lab" in properties else None
    return CredentialSpec(tuple(users), text(properties, "SecretPrefix"), lab)


def lab_tags(lab):
    return [{"Key": LAB_TAG, "Value": lab}]


def access_key_ids(iam, user):
    """The ids of the user's access keys ([] when the user is gone)."""
    try:
        pages = iam.get_paginator("list_access_keys").paginate(UserName=user)
        return [key["AccessKeyId"] for page in pages for key in page["AccessKeyMetadata"]]
    except Exception as error:
        if is_error(error, "NoSuchEntity"):
            return []
        raise


def delete_access_keys(iam, user):
    """Delete every access key of the user; the key ids are not logged."""
    key_ids = access_key_ids(iam, user)
    for key_id in key_ids:
        try:
            iam.delete_access_key(UserName=user, AccessKeyId=key_id)
        except Exception as error:
            if not is_error(error, "NoSuchEntity"):
                raise
    if key_ids:
        log_decision(LOG, "delete-access-keys", user=user, count=len(key_ids))


def describe_secret(secrets, name):
    """The secret's description (name, ARN, tags; never its value), or None when it is missing."""
    try:
        return secrets.describe_secret(SecretId=name)
    except Exception as error:
        if is_error(error, "ResourceNotFoundException"):
            return None
        raise


def secret_owner(secrets, name):
    """The lab named by the secret's "ncap:lab" tag (None: no secret, or no such tag)."""
    described = describe_secret(secrets, name) or {}
    return next((tag["Value"] for tag in described.get("Tags", []) if tag["Key"] == LAB_TAG), None)


def existing_secret_arn(secrets, name):
    """ARN of a live secret, or None when it is missing or scheduled for deletion."""
    described = describe_secret(secrets, name)
    return None if not described or described.get("DeletedDate") else described["ARN"]


def claim_secret(secrets, name, lab):
    """Tag an existing secret with its new lab before its key changes: from then on, a lab
    retiring the user leaves the secret and the key alone. Nothing when the secret is missing."""
    try:
        secrets.tag_resource(SecretId=name, Tags=lab_tags(lab))
    except Exception as error:
        if not is_error(error, "ResourceNotFoundException"):
            raise
        return
    log_decision(LOG, "claim-secret", secret=name, lab=lab)


def delete_secret(secrets, name):
    try:
        secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    except Exception as error:
        if not is_error(error, "ResourceNotFoundException"):
            raise
        log_decision(LOG, "secret-already-gone", secret=name)
        return
    log_decision(LOG, "delete-secret", secret=name)


def store_secret(secrets, name, value, lab):
    """Create the secret, or give an existing one a new value, tagged with the lab; its ARN."""
    try:
        arn = secrets.create_secret(Name=name, SecretString=value, Tags=lab_tags(lab),
                                    Description="Access key of a lab user of this pipeline")["ARN"]
    except Exception as error:
        if not is_error(error, "ResourceExistsException"):
            raise
        arn = secrets.put_secret_value(SecretId=name, SecretString=value)["ARN"]
        secrets.tag_resource(SecretId=name, Tags=lab_tags(lab))
        log_decision(LOG, "replace-secret-value", secret=name, lab=lab)
        return arn
    log_decision(LOG, "create-secret", secret=name, lab=lab)
    return arn


def provision_user(clients, spec, user):
    """One new access key for the user, stored in its secret; returns the secret's ARN."""
    claim_secret(clients.secrets, spec.prefix + user, spec.lab)
    delete_access_keys(clients.iam, user)
    key = clients.iam.create_access_key(UserName=user)["AccessKey"]
    value = json.dumps({"AccessKeyId": key["AccessKeyId"],
                        "SecretAccessKey": key["SecretAccessKey"], "UserName": user})
    log_decision(LOG, "create-access-key", user=user)
    return store_secret(clients.secrets, spec.prefix + user, value, spec.lab)


def retire_user(clients, spec, user):
    """Delete the user's keys and secret, unless another lab's tag says the user moved there."""
    owner = secret_owner(clients.secrets, spec.prefix + user)
    if owner is not None and owner != spec.lab:
        log_decision(LOG, "leave-user-to-other-lab", user=user, lab=spec.lab, owner=owner)
        return
    delete_access_keys(clients.iam, user)
    delete_secret(clients.secrets, spec.prefix + user)


def kept_user_arn(clients, spec, user):
    """A kept user's secret ARN; a user whose secret was lost gets a new key and secret."""
    arn = existing_secret_arn(clients.secrets, spec.prefix + user)
    if arn:
        log_decision(LOG, "keep-user-key", user=user)
        return arn
    log_decision(LOG, "replace-lost-secret", user=user)
    return provision_user(clients, spec, user)


def check_unchanged(old, spec):
    """SecretPrefix and Lab make the physical id; neither may change on Update."""
    if old.prefix != spec.prefix:
        raise ValueError(f"SecretPrefix cannot change ({old.prefix!r} -> {spec.prefix!r})")
    if old.lab != spec.lab:
        raise ValueError(f"Lab cannot change ({old.lab!r} -> {spec.lab!r}): "
                         f"another lab needs a resource of its own")


def update_users(clients, spec, old):
    check_unchanged(old, spec)
    arns = {}
    for user in spec.users:
        if user in old.users:
            arns[user] = kept_user_arn(clients, spec, user)
        else:
            arns[user] = provision_user(clients, spec, user)
    for user in old.users:
        if user not in spec.users:
            retire_user(clients, spec, user)
    return arns


def secret_arns(request, clients, spec, event):
    """{user: secret ARN} after doing what the request asks."""
    if request == "Create":
        return {user: provision_user(clients, spec, user) for user in spec.users}
    if request == "Update":
        old = read_spec(event.get("OldResourceProperties", {}), lab_required=False)
        return update_users(clients, spec, old)
    for user in spec.users:
        retire_user(clients, spec, user)
    return {}


@custom_resource
def handler(event, context):
    request = event["RequestType"]
    if request not in ("Create", "Update", "Delete"):
        raise ValueError(f"unknown RequestType {request!r}")
    spec = read_spec(event["ResourceProperties"], lab_required=request != "Delete")
    clients = Clients(boto3.client("iam"), boto3.client("secretsmanager"))
    arns = secret_arns(request, clients, spec, event)
    return spec.physical_id, {attribute_name(user): arn for user, arn in arns.items()}
