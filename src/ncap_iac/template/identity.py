"""Per affiliate: an IAM group scoped to the lab's folders, its users, and their credentials.

Access keys are made by the credentials function (one custom resource per lab) and written
straight to Secrets Manager, so no key ever passes through the template, its outputs or
CloudFormation; this also keeps each user to one resource, so 50 labs of 5 users fit
CloudFormation's 500 resources.
"""
from __future__ import annotations

from troposphere import AWSObject, GetAtt, Join, Output, Ref, Sub
from troposphere.iam import Group, LoginProfile, Policy, User, UserToGroupAddition
from troposphere.secretsmanager import GenerateSecretString, Secret

from .. import names
from ..config.model import Affiliate, StackConfig
from . import iam
from .functions import FunctionSpec, custom_resource, lambda_function

KEYS_PREFIX = "keys"
CONSOLE_PREFIX = "console"


def resources(config: StackConfig) -> list[AWSObject]:
    found: list[AWSObject] = []
    for affiliate in config.affiliates:
        found += _lab(config, affiliate)
    if config.created_users:
        spec = FunctionSpec(names.CREDENTIALS_FUNCTION, "credentials.handler",
                            "Creates lab users' access keys straight into Secrets Manager (custom resource)",
                            _credentials_statements(config), timeout=600)
        found += lambda_function(config, spec)
    return found


def outputs(config: StackConfig) -> list[Output]:
    """One output per lab: 'user=secret-arn' pairs (CloudFormation allows 200 outputs per stack)."""
    found = []
    for affiliate in config.affiliates:
        pairs = [Join("=", [user, GetAtt(names.credentials(affiliate.name), names.secret_arn_attribute(user))])
                 for user in affiliate.user_names]
        if pairs:
            found.append(Output(names.credentials_output(affiliate.name), Value=Join(",", pairs),
                                Description=f"Secrets Manager secrets holding the access keys of "
                                            f"{affiliate.name}'s users (user=secret ARN)"))
    return found


def _lab(config: StackConfig, affiliate: Affiliate) -> list[AWSObject]:
    group = Group(names.group(affiliate.name),
                  GroupName=names.group_name(config.pipeline_name, affiliate.name),
                  Policies=[Policy(PolicyName="lab-folders", PolicyDocument=_lab_policy(config, affiliate))])
    found: list[AWSObject] = [group]
    for user in affiliate.user_names:
        found += _user(config, affiliate, user)
    if affiliate.user_names:
        found.append(_credentials(config, affiliate))
    if affiliate.existing_user_names:
        found.append(UserToGroupAddition(names.existing_users(affiliate.name), GroupName=Ref(group),
                                         Users=list(affiliate.existing_user_names)))
    return found


def _user(config: StackConfig, affiliate: Affiliate, user: str) -> list[AWSObject]:
    created = User(names.user(user), UserName=user, Path=names.user_path(config.pipeline_name),
                   Groups=[Ref(names.group(affiliate.name))])
    if not affiliate.console_login:
        return [created]
    secret = Secret(names.console_password(user),
                    Name=names.secret_name(config.pipeline_name, f"{CONSOLE_PREFIX}/{user}"),
                    Description=f"Console password of {user}",
                    GenerateSecretString=GenerateSecretString(
                        SecretStringTemplate=f'{{"username": "{user}"}}', GenerateStringKey="password",
                        PasswordLength=24, ExcludeCharacters="\"'@/\\`"))
    created.LoginProfile = LoginProfile(PasswordResetRequired=True, Password=Sub(
        "{{resolve:secretsmanager:${Secret}:SecretString:password}}", Secret=Ref(secret)))
    return [created, secret]


def _lab_policy(config: StackConfig, affiliate: Affiliate) -> dict:
    bucket, lab, folders = config.pipeline_name, affiliate.name, config.folders
    uploads = [folders.inputs, folders.configs, folders.submissions]
    statements = [
        iam.statement("ListOwnFolders", ["s3:ListBucket"], [iam.bucket_arn(bucket)],
                      condition={"StringLike": {"s3:prefix": [f"{lab}/", f"{lab}/*"]}}),
        iam.statement("UploadToOwnFolders",
                      ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                      [iam.object_arn(bucket, f"{lab}/{f}/*") for f in uploads]),
        iam.statement("ReadOwnFolders", ["s3:GetObject"], [iam.object_arn(bucket, f"{lab}/*")]),
    ]
    if affiliate.console_login:
        statements.append(iam.statement("ChangeOwnPassword", ["iam:ChangePassword"], [
            iam.iam_arn(f"user{names.user_path(config.pipeline_name)}${{!aws:username}}")]))
    return iam.document(*statements)


def _credentials(config: StackConfig, affiliate: Affiliate):
    return custom_resource(
        names.credentials(affiliate.name), names.CREDENTIALS_TYPE, names.CREDENTIALS_FUNCTION,
        Lab=affiliate.name, Users=[Ref(names.user(u)) for u in affiliate.user_names],
        SecretPrefix=secret_prefix(config))


def secret_prefix(config: StackConfig) -> str:
    return names.secret_name(config.pipeline_name, KEYS_PREFIX) + "/"


def _credentials_statements(config: StackConfig) -> list[dict]:
    path = names.user_path(config.pipeline_name)
    secrets = names.secret_name(config.pipeline_name, KEYS_PREFIX)
    return [
        iam.statement("KeysOfThisPipelinesUsers",
                      ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys"],
                      [iam.iam_arn(f"user{path}*")]),
        iam.statement("SecretsOfThisPipeline",
                      ["secretsmanager:CreateSecret", "secretsmanager:DeleteSecret",
                       "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue",
                       "secretsmanager:TagResource"],
                      [iam.service_arn("secretsmanager", f"secret:{secrets}/*")]),
    ]
