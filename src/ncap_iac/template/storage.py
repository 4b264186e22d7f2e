"""The pipeline bucket, its TLS-only policy, and the affiliate folders (a custom resource backed by
the folders function); the bucket that keeps the pipeline bucket's server access logs.

The log bucket is encrypted with SSE-S3 (S3 server access logging cannot write to an SSE-KMS
bucket), and only the S3 logging service may write to it, for the pipeline bucket of this
account. Log records expire after ACCESS_LOG_EXPIRY_DAYS. It is kept or deleted with the stack
exactly as the lab data is (DataRetention.RetainBucketOnDelete).

Deletion order, when the data goes with the stack: the folders resource empties the pipeline
bucket, the pipeline bucket goes, then the log bucket's policy (from then on the logging service
cannot write, so log records still on their way are dropped rather than landing in a bucket about
to be deleted), then the emptier resource empties the log bucket, and last the log bucket."""
from __future__ import annotations

from troposphere import AWSObject, Output, Ref, Tags
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    LoggingConfiguration,
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

ACCESS_LOG_EXPIRY_DAYS = 365  # how long the pipeline bucket's access log records are kept
ACCESS_LOG_NONCURRENT_DAYS = 30  # how long an overwritten or deleted log record can still be recovered
LOGGING_SERVICE = "logging.s3.amazonaws.com"


def resources(config: StackConfig) -> list[AWSObject]:
    spec = FunctionSpec(names.FOLDERS_FUNCTION, "folders.handler",
                        "Creates each lab's folders in the pipeline bucket (custom resource)",
                        _folders_statements(config), timeout=300)
    return [_bucket(config), _bucket_policy(config), _folders(config),
            _log_bucket(config), _log_bucket_policy(config), _log_bucket_emptier(config),
            *lambda_function(config, spec)]


def outputs(config: StackConfig) -> list[Output]:
    return [Output(names.BUCKET_OUTPUT, Description="The pipeline bucket", Value=Ref(names.BUCKET))]


def _deletion_policy(config: StackConfig) -> str:
    return "Retain" if config.retention.retain_bucket else "Delete"


def _private_bucket(logical_id: str, name: str, rules: list[LifecycleRule], deletion_policy: str,
                    tags: Tags) -> Bucket:
    """Encrypted with SSE-S3, public access blocked, ACLs disabled, versioned."""
    return Bucket(
        logical_id, BucketName=name,
        BucketEncryption=BucketEncryption(ServerSideEncryptionConfiguration=[ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))]),
        PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
        LifecycleConfiguration=LifecycleConfiguration(Rules=rules), Tags=tags,
        DeletionPolicy=deletion_policy, UpdateReplacePolicy=deletion_policy)


def _bucket(config: StackConfig) -> Bucket:
    bucket = _private_bucket(names.BUCKET, config.pipeline_name, _lifecycle_rules(config), _deletion_policy(config),
                             pipeline_tags(config))
    bucket.LoggingConfiguration = LoggingConfiguration(
        DestinationBucketName=Ref(names.ACCESS_LOG_BUCKET), LogFilePrefix=names.access_log_prefix(config.pipeline_name))
    # the logging service may write only once the log bucket's policy lets it
    bucket.DependsOn = [names.ACCESS_LOG_BUCKET_POLICY]
    if config.uses_directory:
        from .access import cors

        bucket.CorsConfiguration = cors(config)
    return bucket


def _lifecycle_rules(config: StackConfig) -> list[LifecycleRule]:
    rules = [LifecycleRule(Id="AbortStaleUploads", Status="Enabled",
                           AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=7))]
    days = config.retention.expire_noncurrent_days
    if days is not None:
        rules.append(LifecycleRule(Id="ExpireOverwrittenVersions", Status="Enabled",
                                   NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=days)))
    return rules


def _deny_plain_http(bucket: str) -> dict:
    deny = iam.statement(
        "DenyInsecureTransport", ["s3:*"], [iam.bucket_arn(bucket), iam.object_arn(bucket, "*")],
        condition={"Bool": {"aws:SecureTransport": "false"}}, effect="Deny")
    deny["Principal"] = "*"
    return deny


def _bucket_policy(config: StackConfig) -> BucketPolicy:
    return BucketPolicy(names.BUCKET_POLICY, Bucket=Ref(names.BUCKET),
                        PolicyDocument=iam.document(_deny_plain_http(config.pipeline_name)))


def _log_bucket(config: StackConfig) -> Bucket:
    expire = LifecycleRule(Id="ExpireAccessLogs", Status="Enabled", ExpirationInDays=ACCESS_LOG_EXPIRY_DAYS,
                           NoncurrentVersionExpiration=NoncurrentVersionExpiration(
                               NoncurrentDays=ACCESS_LOG_NONCURRENT_DAYS))
    markers = LifecycleRule(Id="RemoveExpiredDeleteMarkers", Status="Enabled", ExpiredObjectDeleteMarker=True)
    return _private_bucket(names.ACCESS_LOG_BUCKET, names.access_log_bucket_name(config.pipeline_name),
                           [expire, markers], _deletion_policy(config), pipeline_tags(config))


def _log_delivery(config: StackConfig) -> dict:
    """The S3 logging service may put log records under the prefix, for the pipeline bucket of
    this account only."""
    pipeline, logs = config.pipeline_name, names.access_log_bucket_name(config.pipeline_name)
    return {"Sid": "AccessLogDelivery", "Effect": "Allow", "Principal": {"Service": LOGGING_SERVICE},
            "Action": ["s3:PutObject"],
            # one ARN rather than a list: the form moto recognises as a logging grant
            "Resource": iam.object_arn(logs, names.access_log_prefix(pipeline) + "*"),
            "Condition": {"StringEquals": {"aws:SourceArn": iam.bucket_arn(pipeline),
                                           "aws:SourceAccount": Ref("AWS::AccountId")}}}


def _log_bucket_policy(config: StackConfig) -> BucketPolicy:
    """Kept with the log bucket, so that a kept pipeline bucket goes on logging into it. Made after
    the emptier, so that on stack deletion it goes before the emptier empties the bucket."""
    policy = _deletion_policy(config)
    document = iam.document(_log_delivery(config),
                            _deny_plain_http(names.access_log_bucket_name(config.pipeline_name)))
    return BucketPolicy(names.ACCESS_LOG_BUCKET_POLICY, Bucket=Ref(names.ACCESS_LOG_BUCKET),
                        PolicyDocument=document, DependsOn=[names.ACCESS_LOG_EMPTIER],
                        DeletionPolicy=policy, UpdateReplacePolicy=policy)


def _empty_on_delete(config: StackConfig) -> str:
    return str(not config.retention.retain_bucket).lower()


def _folders(config: StackConfig):
    return custom_resource(
        names.FOLDERS, names.FOLDERS_TYPE, iam.arn_of(names.FOLDERS_FUNCTION),
        BucketName=Ref(names.BUCKET),
        Affiliates=[a.name for a in config.affiliates],
        Folders=list(config.folders.all()),
        EmptyBucketOnDelete=_empty_on_delete(config))


def _log_bucket_emptier(config: StackConfig):
    """Empties the log bucket on stack deletion when the lab data goes too (a bucket holding
    objects cannot be deleted); always declared, so that changing the retention is an update of
    its flag, never a removal that would empty a bucket being kept."""
    return custom_resource(
        names.ACCESS_LOG_EMPTIER, names.EMPTIER_TYPE, iam.arn_of(names.FOLDERS_FUNCTION),
        BucketName=Ref(names.ACCESS_LOG_BUCKET), EmptyBucketOnDelete=_empty_on_delete(config))


def _folders_statements(config: StackConfig) -> list[dict]:
    name, logs = config.pipeline_name, names.access_log_bucket_name(config.pipeline_name)
    statements = [
        iam.statement("ListBucket", ["s3:ListBucket"], [iam.bucket_arn(name), iam.bucket_arn(logs)]),
        iam.statement("FolderMarkers", ["s3:PutObject", "s3:DeleteObject"], [iam.object_arn(name, "*/")]),
    ]
    if not config.retention.retain_bucket:
        statements.append(iam.statement(
            "EmptyBucketOnStackDeletion", ["s3:ListBucketVersions"], [iam.bucket_arn(name), iam.bucket_arn(logs)]))
        statements.append(iam.statement(
            "DeleteDataOnStackDeletion", ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            [iam.object_arn(name, "*"), iam.object_arn(logs, "*")]))
    return statements
