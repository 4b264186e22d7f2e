"""The pipeline bucket, its TLS-only policy, and the affiliate folders (a custom resource backed by
the folders function)."""
from __future__ import annotations

from troposphere import AWSObject, Output, Ref
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    NoncurrentVersionExpiration,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)

from .. import names
from ..config.model import StackConfig
from . import iam
from .functions import FunctionSpec, custom_resource, lambda_function
from .tags import pipeline_tags


def resources(config: StackConfig) -> list[AWSObject]:
    spec = FunctionSpec(names.FOLDERS_FUNCTION, "folders.handler",
                        "Creates each lab's folders in the pipeline bucket (custom resource)",
                        _folders_statements(config), timeout=300)
    return [_bucket(config), _bucket_policy(config), _folders(config),
            *lambda_function(config, spec)]


def outputs(config: StackConfig) -> list[Output]:
    return [Output(names.BUCKET_OUTPUT, Description="The pipeline bucket", Value=Ref(names.BUCKET))]


def _deletion_policy(config: StackConfig) -> str:
    return "Retain" if config.retention.retain_bucket else "Delete"


def _bucket(config: StackConfig) -> Bucket:
    policy = _deletion_policy(config)
    return Bucket(
        names.BUCKET, BucketName=config.pipeline_name,
        BucketEncryption=BucketEncryption(ServerSideEncryptionConfiguration=[ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))]),
        PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
        LifecycleConfiguration=LifecycleConfiguration(Rules=_lifecycle_rules(config)),
        Tags=pipeline_tags(config), DeletionPolicy=policy, UpdateReplacePolicy=policy)


def _lifecycle_rules(config: StackConfig) -> list[LifecycleRule]:
    rules = [LifecycleRule(Id="AbortStaleUploads", Status="Enabled",
                           AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=7))]
    days = config.retention.expire_noncurrent_days
    if days is not None:
        rules.append(LifecycleRule(Id="ExpireOverwrittenVersions", Status="Enabled",
                                   NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=days)))
    return rules


def _bucket_policy(config: StackConfig) -> BucketPolicy:
    name = config.pipeline_name
    deny_plain_http = iam.statement(
        "DenyInsecureTransport", ["s3:*"], [iam.bucket_arn(name), iam.object_arn(name, "*")],
        condition={"Bool": {"aws:SecureTransport": "false"}}, effect="Deny")
    deny_plain_http["Principal"] = "*"
    return BucketPolicy(names.BUCKET_POLICY, Bucket=Ref(names.BUCKET),
                        PolicyDocument=iam.document(deny_plain_http))


def _folders(config: StackConfig):
    return custom_resource(
        names.FOLDERS, names.FOLDERS_TYPE, iam.arn_of(names.FOLDERS_FUNCTION),
        BucketName=Ref(names.BUCKET),
        Affiliates=[a.name for a in config.affiliates],
        Folders=list(config.folders.all()),
        EmptyBucketOnDelete=str(not config.retention.retain_bucket).lower())


def _folders_statements(config: StackConfig) -> list[dict]:
    name = config.pipeline_name
    statements = [
        iam.statement("ListBucket", ["s3:ListBucket"], [iam.bucket_arn(name)]),
        iam.statement("FolderMarkers", ["s3:PutObject", "s3:DeleteObject"], [iam.object_arn(name, "*/")]),
    ]
    if not config.retention.retain_bucket:
        statements.append(iam.statement(
            "EmptyBucketOnStackDeletion", ["s3:ListBucketVersions"], [iam.bucket_arn(name)]))
        statements.append(iam.statement(
            "DeleteDataOnStackDeletion", ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            [iam.object_arn(name, "*")]))
    return statements
