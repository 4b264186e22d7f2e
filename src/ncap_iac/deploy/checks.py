"""The account check before a deployment, with read-only IAM, S3 and CloudFormation calls:

- users the template creates that already exist outside this pipeline (a user whose path is
  /ncap/<PipelineName>/ is this pipeline's own);
- users listed under ExistingUserNames that do not exist;
- a bucket name that is taken (by another account, or in this one outside this stack);
- affiliates already served by another pipeline: an IAM group <other>-<affiliate> where <other>
  is a pipeline (a stack of that name, or IAM users under /ncap/<other>/). A lab may well use two
  pipelines, so this one can be allowed with --allow-shared-affiliates.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import names
from ..aws.errors import aws_errors, error_code, error_message

NCAP_PATH = "/ncap/"


@dataclass(frozen=True)
class Finding:
    kind: str  # user | existing-user | bucket | affiliate | unchecked
    message: str
    blocking: bool = True


def check_account(pipeline, aws, owned: dict, allow_shared_affiliates: bool = False) -> list[Finding]:
    """Every problem found; `owned` maps this stack's logical ids to physical ids ({} if new)."""
    findings: list[Finding] = []
    for check in (_created_users, _existing_users, _bucket, _affiliates, _directory):
        try:
            findings += check(pipeline, aws, owned)
        except aws_errors() as exc:
            findings.append(Finding("unchecked", f"could not check ({check.__name__.strip('_')}): "
                                                 f"{error_code(exc)} {error_message(exc)}", blocking=False))
    if allow_shared_affiliates:
        findings = [Finding(f.kind, f.message, False) if f.kind == "affiliate" else f for f in findings]
    return findings


def _directory(pipeline, aws, owned: dict) -> list[Finding]:
    """A pipeline with Access needs its directory deployed first: its member role trusts the
    directory function's role, and IAM refuses a trust in a role that does not exist."""
    from ..lambda_repo.ncap_lambda.people import function_name, role_path

    directory = pipeline.config.directory
    if directory is None:
        return []
    try:
        found = aws.iam.get_role(RoleName=function_name(directory))["Role"]
    except aws_errors() as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        return [Finding("directory", f"Access.Directory: directory {directory} is not deployed in this account "
                                     f"(no role {function_name(directory)}): deploy it first "
                                     f"(ncap deploy DIRECTORY_DIR)")]
    if found.get("Path") != role_path(directory):
        return [Finding("directory", f"Access.Directory: role {function_name(directory)} is not directory "
                                     f"{directory}'s (its path is {found.get('Path')})")]
    return []


def _get_user(iam, name: str) -> dict | None:
    try:
        return iam.get_user(UserName=name)["User"]
    except aws_errors() as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise


def _created_users(pipeline, aws, owned: dict) -> list[Finding]:
    findings, path = [], names.user_path(pipeline.name)
    for name in pipeline.config.created_users:
        found = _get_user(aws.iam, name)
        if found and found.get("Path", "/") != path:
            findings.append(Finding("user", f"IAM user {name} already exists ({_owner(found)}): this stack "
                                            f"cannot create it. Rename the user in the config, or list it under "
                                            f"the lab's ExistingUserNames to give the existing user the lab's access"))
    return findings


def _owner(user: dict) -> str:
    path = user.get("Path", "/")
    if path.startswith(NCAP_PATH) and path.count("/") >= 3:
        return f"a user of pipeline {path.split('/')[2]}, path {path}"
    return f"path {path}, created {str(user.get('CreateDate', '?'))[:10]}, not made by an ncap pipeline"


def _existing_users(pipeline, aws, owned: dict) -> list[Finding]:
    findings = []
    existing = dict.fromkeys(u for a in pipeline.config.affiliates for u in a.existing_user_names)
    for name in existing:
        if _get_user(aws.iam, name) is None:
            findings.append(Finding("existing-user", f"ExistingUserNames: IAM user {name} does not exist, "
                                                     f"so it cannot be added to its lab's group"))
    return findings


def _bucket(pipeline, aws, owned: dict) -> list[Finding]:
    findings = []
    for logical_id, resource in pipeline.resources("AWS::S3::Bucket").items():
        name = resource["Properties"].get("BucketName")
        if not isinstance(name, str) or owned.get(logical_id) == name:
            continue
        state = _bucket_state(aws.s3, name)
        if state == "taken":
            findings.append(Finding("bucket", f"bucket name {name} is taken by another AWS account; the bucket "
                                              f"is named after PipelineName, so choose another pipeline name"))
        elif state == "exists":
            findings.append(Finding("bucket", f"bucket {name} already exists in this account outside this stack "
                                              f"(perhaps retained, with its data, from an earlier deployment): "
                                              f"empty and delete it first, or choose another pipeline name"))
    return findings


def _bucket_state(s3, name: str) -> str:
    try:
        s3.head_bucket(Bucket=name)
        return "exists"
    except aws_errors() as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return "free"
        if code in ("403", "AccessDenied", "Forbidden"):
            return "taken"
        raise


def _affiliates(pipeline, aws, owned: dict) -> list[Finding]:
    ours = {names.group_name(pipeline.name, a.name) for a in pipeline.config.affiliates}
    groups = [g["GroupName"] for page in aws.iam.get_paginator("list_groups").paginate() for g in page["Groups"]]
    findings = []
    for affiliate in pipeline.config.affiliates:
        suffix = f"-{affiliate.name}"
        for group in sorted(g for g in groups if g.endswith(suffix) and g not in ours):
            other = group[: -len(suffix)]
            if other != pipeline.name and _is_pipeline(aws, other):
                findings.append(Finding("affiliate", f"affiliate {affiliate.name} is already served by pipeline "
                                                     f"{other} (IAM group {group}); if the lab is meant to use both, "
                                                     f"pass --allow-shared-affiliates"))
    return findings


def _is_pipeline(aws, name: str) -> bool:
    pages = aws.iam.get_paginator("list_users").paginate(PathPrefix=f"{NCAP_PATH}{name}/")
    if any(page["Users"] for page in pages):
        return True
    try:
        aws.cloudformation.describe_stacks(StackName=name)
        return True
    except aws_errors():
        return False


def report(findings: list[Finding], say) -> bool:
    """Print the findings; True when one of them must stop the deployment."""
    if not findings:
        say("account check: no conflicts (users, bucket, affiliates)")
    for finding in findings:
        say(f"account check: {'problem' if finding.blocking else 'note'}: {finding.message}")
    return any(f.blocking for f in findings)
