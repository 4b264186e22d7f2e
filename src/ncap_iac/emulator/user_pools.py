"""Provisioners of a directory's Cognito user pool and app client, which the emulator's
CloudFormation does not make: made through Cognito's API from the template's properties."""
from __future__ import annotations

from typing import Any

from .provisioners_base import ignore_gone

POOL_SETTINGS = ("UsernameAttributes", "AutoVerifiedAttributes", "Policies", "MfaConfiguration",
                 "AdminCreateUserConfig", "LambdaConfig", "AccountRecoverySetting", "UsernameConfiguration",
                 "DeletionProtection", "UserPoolTags", "UserAttributeUpdateSettings")
CLIENT_SETTINGS = ("GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors", "EnableTokenRevocation",
                   "AccessTokenValidity", "IdTokenValidity", "RefreshTokenValidity", "TokenValidityUnits",
                   "ReadAttributes", "WriteAttributes")


def create_pool(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    cognito = aws.client("cognito-idp")
    settings = {k: props[k] for k in POOL_SETTINGS if k in props}
    return cognito.create_user_pool(PoolName=props.get("UserPoolName") or f"{stack}-{logical_id}",
                                    **settings)["UserPool"]["Id"]


def find_pool(logical_id: str, props: dict, aws: Any, stack: str) -> str | None:
    name = props.get("UserPoolName") or f"{stack}-{logical_id}"
    pools = aws.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    return next((p["Id"] for p in pools if p["Name"] == name), None)


def update_pool(logical_id: str, old: dict, props: dict, aws: Any, stack: str) -> str:
    pool = find_pool(logical_id, old, aws, stack) or create_pool(logical_id, props, aws, stack)
    settings = {k: props[k] for k in POOL_SETTINGS if k in props and k not in ("UsernameAttributes",
                                                                              "UsernameConfiguration")}
    aws.client("cognito-idp").update_user_pool(UserPoolId=pool, **settings)
    return pool


def delete_pool(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    pool = find_pool(logical_id, props, aws, stack)
    if pool:
        ignore_gone(lambda: aws.client("cognito-idp").delete_user_pool(UserPoolId=pool))


def create_client(logical_id: str, props: dict, aws: Any, stack: str) -> str:
    settings = {k: props[k] for k in CLIENT_SETTINGS if k in props}
    return aws.client("cognito-idp").create_user_pool_client(
        UserPoolId=props["UserPoolId"], ClientName=props.get("ClientName") or logical_id,
        **settings)["UserPoolClient"]["ClientId"]


def find_client(logical_id: str, props: dict, aws: Any, stack: str) -> str | None:
    clients = aws.client("cognito-idp").list_user_pool_clients(UserPoolId=props["UserPoolId"],
                                                                MaxResults=60)["UserPoolClients"]
    return next((c["ClientId"] for c in clients if c["ClientName"] == (props.get("ClientName") or logical_id)), None)


def delete_client(logical_id: str, props: dict, aws: Any, stack: str) -> None:
    client = find_client(logical_id, props, aws, stack)
    if client:
        ignore_gone(lambda: aws.client("cognito-idp").delete_user_pool_client(UserPoolId=props["UserPoolId"],
                                                                               ClientId=client))
