"""A pipeline whose labs sign in to a directory (Access.Directory): instead of IAM users and a
group per lab, one member role for every lab, and the pipeline's registration with the directory.

The member role is on the directory's IAM path and trusts only the directory function's role, and
only for sessions tagged with a lab (`ncap-lab`). Its policy is a lab group's, written for the
lab in the session's tag (`${aws:PrincipalTag/ncap-lab}`): a session reaches the folders of that
one lab, whatever the client does. The directory function hands such a session (an hour at most)
to a signed-in member of a lab the registration lists (lambda_repo/directory.py).

A session may also read its own lab's ledger (`ledger/<YYYY-MM>/<lab>/`, what its finished jobs
cost: ncap_lambda/ledger.py), and nothing else of `ledger/`: the month is matched by `????-??`, one
character each, so that no key of another lab (whose job ids or folders might be named like this
lab) fits the pattern. The portal shows a lab its month's spend from it.

The registration is an SSM parameter under the directory's path: the bucket, region, labs, folders,
the member role and the labs' monthly budgets, which the directory reads to answer "my labs and
their pipelines", to choose the role and to tell a member their lab's budget. One role per
pipeline keeps 300 labs x 5 pipelines far inside IAM's 1,000 roles."""
from __future__ import annotations

import json

from troposphere import AWSObject, Output, Sub
from troposphere.iam import Policy, Role
from troposphere.s3 import CorsConfiguration, CorsRules
from troposphere.ssm import Parameter

from .. import names
from ..config.model import StackConfig
from ..errors import TemplateLimitError
from ..lambda_repo.ncap_lambda.ledger import LEDGER_PREFIX
from ..lambda_repo.ncap_lambda.people import (
    LAB_TAG,
    SESSION_SECONDS,
    function_name,
    member_role_name,
    portal_origin_parameter,
    registration_name,
    role_path,
)
from . import iam
from .identity import lab_folder_statements

LAB = f"${{aws:PrincipalTag/{LAB_TAG}}}"
LAB_IN_SUB = f"${{!aws:PrincipalTag/{LAB_TAG}}}"
REGISTRATION_TIER = "Intelligent-Tiering"  # standard up to 4 KB, advanced (8 KB) beyond
INLINE_POLICY_LIMIT = 10240  # IAM: characters of a role's inline policies, together


def directory_role_arn(directory: str) -> Sub:
    """The directory function's role, the one principal the member role trusts."""
    return iam.iam_arn(f"role{role_path(directory)}{function_name(directory)}")


def resources(config: StackConfig) -> list[AWSObject]:
    return [member_role(config), registration(config)]


def member_role(config: StackConfig) -> Role:
    directory = str(config.directory)
    trust = iam.document({"Effect": "Allow", "Principal": {"AWS": directory_role_arn(directory)},
                          "Action": ["sts:AssumeRole", "sts:TagSession"],
                          "Condition": {"StringLike": {f"aws:RequestTag/{LAB_TAG}": "?*"},
                                        "ForAllValues:StringEquals": {"aws:TagKeys": [LAB_TAG]}}})
    labs = sorted(a.name for a in config.affiliates)
    # a session tagged with a lab this pipeline does not serve reaches nothing, whatever the
    # directory function (or a registration) says
    only_labs = {"Sid": "OnlyThisPipelinesLabs", "Effect": "Deny", "Action": "*", "Resource": "*",
                 "Condition": {"StringNotEquals": {f"aws:PrincipalTag/{LAB_TAG}": labs}}}
    policy = iam.document(*lab_folder_statements(config, LAB, LAB_IN_SUB), *ledger_statements(config), only_labs)
    size = len(json.dumps(policy, separators=(",", ":"), default=lambda o: o.to_dict()))
    if size > INLINE_POLICY_LIMIT:
        raise TemplateLimitError(f"the member role's policy would be {size} characters, over IAM's "
                                 f"{INLINE_POLICY_LIMIT} for a role's inline policies: {len(labs)} labs' names are "
                                 "too many for one pipeline")
    return Role(names.MEMBER_ROLE, RoleName=member_role_name(config.pipeline_name), Path=role_path(directory),
                AssumeRolePolicyDocument=trust, MaxSessionDuration=SESSION_SECONDS,
                Policies=[Policy(PolicyName="lab-folders", PolicyDocument=policy)])


LEDGER_MONTH = "????-??"  # YYYY-MM, one character for one


def ledger_statements(config: StackConfig) -> list[dict]:
    """Read-only, the session's own lab's ledger, every month of it."""
    bucket, own = config.pipeline_name, f"{LEDGER_PREFIX}{LEDGER_MONTH}/"
    return [
        iam.statement("ListOwnLabsLedger", ["s3:ListBucket"], [iam.bucket_arn(bucket)],
                      condition={"StringLike": {"s3:prefix": [f"{own}{LAB}/", f"{own}{LAB}/*"]}}),
        iam.statement("ReadOwnLabsLedger", ["s3:GetObject"], [iam.object_arn(bucket, f"{own}{LAB_IN_SUB}/*")]),
    ]


def budgets(config: StackConfig) -> dict:
    """The labs' monthly budgets in USD, as `ncap cost report` reads them (StackConfig.lab_budget):
    the common one (null: none) and each lab whose own differs from it (the registration stays
    small for hundreds of labs)."""
    common = config.budgets.per_lab_monthly_usd
    own = {a.name: budget for a in sorted(config.affiliates, key=lambda a: a.name)
           if (budget := config.lab_budget(a)) != common}
    return {"common": common, "labs": own}


def registration_value(config: StackConfig) -> str:
    f = config.folders
    return json.dumps({"bucket": config.pipeline_name, "region": "${AWS::Region}",
                       "labs": sorted(a.name for a in config.affiliates), "budgets_usd": budgets(config),
                       "role_arn": f"${{{names.MEMBER_ROLE}.Arn}}",
                       "folders": {"inputs": f.inputs, "configs": f.configs, "submissions": f.submissions,
                                   "results": f.results, "logs": f.logs}}, sort_keys=True)


def registration(config: StackConfig) -> Parameter:
    directory = str(config.directory)
    return Parameter(names.DIRECTORY_REGISTRATION, Name=registration_name(directory, config.pipeline_name),
                     Type="String", Tier=REGISTRATION_TIER, Value=Sub(registration_value(config)),
                     Description=f"ncap_iac pipeline {config.pipeline_name}: its labs, for directory {directory}")


PORTAL_HEADERS = ["authorization", "content-type", "range", "x-amz-content-sha256", "x-amz-date",
                  "x-amz-security-token"]


def cors(config: StackConfig) -> CorsConfiguration:
    """The bucket's CORS rules: the directory's portal (its origin read from the directory's SSM
    parameter when the stack is deployed) may call S3 from the browser; no other web origin."""
    origin = "{{resolve:ssm:" + portal_origin_parameter(str(config.directory)) + "}}"
    return CorsConfiguration(CorsRules=[CorsRules(
        Id="LabPortal", AllowedOrigins=[origin], AllowedMethods=["GET", "HEAD", "PUT", "POST"],
        AllowedHeaders=PORTAL_HEADERS, ExposedHeaders=["ETag", "x-amz-version-id"], MaxAge=600)])


def outputs(config: StackConfig) -> list[Output]:
    return [Output(names.DIRECTORY_OUTPUT, Value=str(config.directory),
                   Description="Lab members sign in to this directory (ncap lab login); no IAM users are made")]
