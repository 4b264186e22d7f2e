"""Custom::UserCredentials: one access key per lab user, kept only in Secrets Manager.

Properties: Users (IAM users this stack created), SecretPrefix (e.g. "ncap/<pipeline>/keys/").
Each user's key is stored as JSON {"AccessKeyId", "SecretAccessKey", "UserName"} in the secret
SecretPrefix + user. The answer's Data holds one attribute per user, "SecretArn" + CamelCase(user),
whose value is the secret's ARN: never the key itself.

- Create: a fresh key and secret per user. A repeated Create first deletes the keys the user
  already has, so that a user never ends with two keys.
- Update: keys and secrets for added users; removed users lose their keys (CloudFormation deletes
  the users next, which fails while a key remains) and their secrets; kept users keep their key
  (one whose secret was lost gets a new key and secret). SecretPrefix cannot change.
- Delete: every listed user's keys and secret.

Permissions used: iam:CreateAccessKey, iam:ListAccessKeys, iam:DeleteAccessKey on the users;
secretsmanager:CreateSecret, PutSecretValue, DescribeSecret, DeleteSecret on SecretPrefix*.
The function never reads a secret value.
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


@dataclass(frozen=True)
class CredentialSpec:
    users: tuple
    prefix: str


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
    owners = {}
    for user in users:
        attribute = attribute_name(user)
        if attribute == "SecretArn" or attribute in owners:
            raise ValueError(f"user {user!r} has no attribute name of its own ({attribute}; "
                             f"also {owners.get(attribute)!r})")
        owners[attribute] = user


def read_spec(properties):
    users = name_list(properties, "Users")
    check_attribute_names(users)
    return CredentialSpec(tuple(users), text(properties, "SecretPrefix"))


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


def delete_secret(secrets, name):
    try:
        secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    except Exception as error:
        if not is_error(error, "ResourceNotFoundException"):
            raise
        log_decision(LOG, "secret-already-gone", secret=name)
        return
    log_decision(LOG, "delete-secret", secret=name)


def store_secret(secrets, name, value):
    """Create the secret, or give an existing one a new value; return its ARN."""
    try:
        arn = secrets.create_secret(Name=name, SecretString=value,
                                    Description="Access key of a lab user of this pipeline")["ARN"]
    except Exception as error:
        if not is_error(error, "ResourceExistsException"):
            raise
        arn = secrets.put_secret_value(SecretId=name, SecretString=value)["ARN"]
        log_decision(LOG, "replace-secret-value", secret=name)
        return arn
    log_decision(LOG, "create-secret", secret=name)
    return arn


def provision_user(clients, prefix, user):
    """One new access key for the user, stored in its secret; returns the secret's ARN."""
    delete_access_keys(clients.iam, user)
    key = clients.iam.create_access_key(UserName=user)["AccessKey"]
    value = json.dumps({"AccessKeyId": key["AccessKeyId"],
                        "SecretAccessKey": key["SecretAccessKey"], "UserName": user})
    log_decision(LOG, "create-access-key", user=user)
    return store_secret(clients.secrets, prefix + user, value)


def retire_user(clients, prefix, user):
    delete_access_keys(clients.iam, user)
    delete_secret(clients.secrets, prefix + user)


def existing_secret_arn(secrets, name):
    """ARN of a live secret, or None when it is missing or scheduled for deletion."""
    try:
        described = secrets.describe_secret(SecretId=name)
    except Exception as error:
        if is_error(error, "ResourceNotFoundException"):
            return None
        raise
    return None if described.get("DeletedDate") else described["ARN"]


def kept_user_arn(clients, prefix, user):
    """A kept user's secret ARN; a user whose secret was lost gets a new key and secret."""
    arn = existing_secret_arn(clients.secrets, prefix + user)
    if arn:
        log_decision(LOG, "keep-user-key", user=user)
        return arn
    log_decision(LOG, "replace-lost-secret", user=user)
    return provision_user(clients, prefix, user)


def update_users(clients, spec, old):
    if old.prefix != spec.prefix:
        raise ValueError(f"SecretPrefix cannot change ({old.prefix!r} -> {spec.prefix!r})")
    arns = {}
    for user in spec.users:
        if user in old.users:
            arns[user] = kept_user_arn(clients, spec.prefix, user)
        else:
            arns[user] = provision_user(clients, spec.prefix, user)
    for user in old.users:
        if user not in spec.users:
            retire_user(clients, spec.prefix, user)
    return arns


@custom_resource
def handler(event, context):
    request = event["RequestType"]
    spec = read_spec(event["ResourceProperties"])
    clients = Clients(boto3.client("iam"), boto3.client("secretsmanager"))
    if request == "Create":
        arns = {user: provision_user(clients, spec.prefix, user) for user in spec.users}
    elif request == "Update":
        arns = update_users(clients, spec, read_spec(event.get("OldResourceProperties", {})))
    elif request == "Delete":
        arns = {}
        for user in spec.users:
            retire_user(clients, spec.prefix, user)
    else:
        raise ValueError(f"unknown RequestType {request!r}")
    return spec.prefix, {attribute_name(user): arn for user, arn in arns.items()}
