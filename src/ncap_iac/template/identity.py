"""The labs' people: per lab an IAM group scoped to the lab's folders and the lab's members (a
custom resource per part of up to MEMBERS_PER_PART users); for the pipeline, the users function
that answers them and the PipelineUsers resource that deletes users no lab lists any more.

Users are not template resources: the users function makes each one once, however many labs list
it, and its access key straight into Secrets Manager (no key passes through CloudFormation), so a
person can be in several labs, a lab can have as many users as IAM allows, adding or removing a
lab changes only that lab's resources, and an update never rotates a key (lambda_repo/users.py).
"""
from __future__ import annotations

import hashlib

from troposphere import AWSObject, Output, Ref
from troposphere.iam import Group, Policy

from .. import names
from ..config.model import Affiliate, StackConfig
from . import iam
from .functions import FunctionSpec, custom_resource, lambda_function

MEMBERS_PER_PART = 200  # a part's users are made within one custom-resource call (Lambda: 15 min)


def shared_resources(config: StackConfig) -> list[AWSObject]:
    """The users function; what the labs refer to."""
    spec = FunctionSpec(names.USERS_FUNCTION, "users.handler",
                        "Makes the labs' IAM users, their access keys in Secrets Manager and their group "
                        "memberships (custom resources)", _users_statements(config), timeout=900)
    return lambda_function(config, spec)


def pipeline_users(config: StackConfig, after: list[str]) -> AWSObject:
    """Deletes the users no lab lists any more; runs after every lab (`after`: their ids)."""
    people = sorted({u.lower() for u in config.created_users})
    resource = custom_resource(
        names.PIPELINE_USERS, names.PIPELINE_USERS_TYPE, iam.arn_of(names.USERS_FUNCTION),
        UserPath=names.user_path(config.pipeline_name), GroupPath=names.user_path(config.pipeline_name),
        SecretPrefix=names.key_secret_prefix(config.pipeline_name),
        ConsolePrefix=names.console_secret_prefix(config.pipeline_name),
        Generation=hashlib.sha256("\n".join(people).encode()).hexdigest()[:16])
    if after:
        resource.DependsOn = sorted(after)
    return resource


def outputs(config: StackConfig) -> list[Output]:
    return [Output(names.USER_SECRETS_OUTPUT, Value=names.key_secret_prefix(config.pipeline_name),
                   Description="Each lab user's access key is in the Secrets Manager secret of this prefix "
                               "and the user's name")]


def lab_resources(config: StackConfig, affiliate: Affiliate, users_function) -> list[AWSObject]:
    """The lab's group and its members; `users_function` is the ARN that answers the latter."""
    group = Group(names.group(affiliate.name), GroupName=names.group_name(config.pipeline_name, affiliate.name),
                  Path=names.user_path(config.pipeline_name),
                  Policies=[Policy(PolicyName="lab-folders", PolicyDocument=_lab_policy(config, affiliate))])
    return [group, *_members(config, affiliate, users_function)]


def member_ids(affiliate: Affiliate) -> list[str]:
    return [names.members(affiliate.name, part) for part in range(len(_parts(affiliate)))]


def _parts(affiliate: Affiliate) -> list[tuple[str, ...]]:
    users = sorted(affiliate.user_names, key=str.lower)
    return [tuple(users[i:i + MEMBERS_PER_PART]) for i in range(0, len(users), MEMBERS_PER_PART)] or [()]


def _members(config: StackConfig, affiliate: Affiliate, users_function) -> list[AWSObject]:
    """Part 0 has every existing user and the whole roster, and runs after the other parts."""
    parts, pipeline = _parts(affiliate), config.pipeline_name
    found = []
    for position, users in enumerate(parts):
        properties = {"Group": Ref(names.group(affiliate.name)), "Users": list(users),
                      "ExistingUsers": list(affiliate.existing_user_names) if position == 0 else [],
                      "UserPath": names.user_path(pipeline), "SecretPrefix": names.key_secret_prefix(pipeline),
                      "ConsolePrefix": names.console_secret_prefix(pipeline),
                      "ConsoleLogin": str(affiliate.console_login).lower()}
        if position == 0:
            properties["Roster"] = sorted([*affiliate.user_names, *affiliate.existing_user_names], key=str.lower)
        found.append(custom_resource(names.members(affiliate.name, position), names.MEMBERS_TYPE, users_function,
                                     **properties))
    if len(found) > 1:
        found[0].DependsOn = [part.title for part in found[1:]]
    return found


def _lab_policy(config: StackConfig, affiliate: Affiliate) -> dict:
    statements = lab_folder_statements(config, affiliate.name, affiliate.name)
    if affiliate.console_login:
        statements.append(iam.statement("ChangeOwnPassword", ["iam:ChangePassword"], [
            iam.iam_arn(f"user{names.user_path(config.pipeline_name)}${{!aws:username}}")]))
    return iam.document(*statements)


def lab_folder_statements(config: StackConfig, lab: str, lab_in_sub: str) -> list[dict]:
    """What a lab's people may do in its folders: list them, upload inputs, configs and
    submissions, read everything of the lab. `lab_in_sub` is the lab as written inside Fn::Sub
    (the same name, or a policy variable escaped from Sub)."""
    bucket, folders = config.pipeline_name, config.folders
    uploads = [folders.inputs, folders.configs, folders.submissions]
    return [
        iam.statement("ListOwnFolders", ["s3:ListBucket"], [iam.bucket_arn(bucket)],
                      condition={"StringLike": {"s3:prefix": [f"{lab}/", f"{lab}/*"]}}),
        iam.statement("UploadToOwnFolders",
                      ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                      [iam.object_arn(bucket, f"{lab_in_sub}/{f}/*") for f in uploads]),
        iam.statement("ReadOwnFolders", ["s3:GetObject"], [iam.object_arn(bucket, f"{lab_in_sub}/*")]),
    ]


def _users_statements(config: StackConfig) -> list[dict]:
    path, pipeline = names.user_path(config.pipeline_name), config.pipeline_name
    users, groups = iam.iam_arn(f"user{path}*"), iam.iam_arn(f"group{path}*")
    return [
        iam.statement("UsersOfThisPipeline",
                      ["iam:CreateUser", "iam:GetUser", "iam:DeleteUser", "iam:ListAccessKeys",
                       "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:GetLoginProfile",
                       "iam:CreateLoginProfile", "iam:DeleteLoginProfile", "iam:ListGroupsForUser"], [users]),
        iam.statement("MembershipOfThisPipelinesGroups",
                      ["iam:AddUserToGroup", "iam:RemoveUserFromGroup", "iam:GetGroup"], [groups]),
        # ListUsers takes no resource-level permission: "*" is the only resource it accepts, and it
        # only lists names (the function asks for this pipeline's path prefix).
        iam.statement("FindThisPipelinesUsers", ["iam:ListUsers"], ["*"]),
        iam.statement("SecretsOfThisPipeline",
                      ["secretsmanager:CreateSecret", "secretsmanager:DeleteSecret",
                       "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue",
                       "secretsmanager:TagResource"],
                      [iam.service_arn("secretsmanager", f"secret:{names.secret_name(pipeline, '')}*")]),
    ]
