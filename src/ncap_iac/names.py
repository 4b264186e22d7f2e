"""Every logical id and every physical name the templates use comes from here, and everything
that reads a deployed stack finds its resources by these names.

Logical ids match ^[A-Za-z0-9]+$. Ids made from user-chosen names (affiliates, users) are the
name in CamelCase with other characters dropped; config checks refuse two names that collide.
"""
from __future__ import annotations

import hashlib
import re

BUCKET = "PipelineBucket"
BUCKET_POLICY = "PipelineBucketPolicy"
ACCESS_LOG_BUCKET = "AccessLogBucket"
ACCESS_LOG_BUCKET_POLICY = "AccessLogBucketPolicy"
ACCESS_LOG_EMPTIER = "AccessLogBucketEmptier"
SUBMIT_FUNCTION = "SubmitFunction"
FOLDERS_FUNCTION = "FoldersFunction"
USERS_FUNCTION = "UsersFunction"
PIPELINE_USERS = "PipelineUsers"
MONITOR_FUNCTION = "MonitorFunction"
POST_FUNCTION = "PostFunction"  # the pipeline's post-processing function (Lambda.PostCodeUri)
POST_EVENT = "UploadPostTrigger"  # its bucket-wide upload event
FOLDERS = "AffiliateFolders"
JOB_QUEUE = "JobQueue"
DEAD_LETTER_QUEUE = "JobDeadLetterQueue"
TRIGGER_DEAD_LETTER_QUEUE = "TriggerDeadLetterQueue"
INSTANCE_ROLE = "WorkerRole"
INSTANCE_PROFILE = "WorkerInstanceProfile"
LAUNCH_TEMPLATE = "WorkerLaunchTemplate"
WORKER_GROUP = "WorkerGroup"
TERMINATING_HOOK = "WorkerTerminatingHook"  # the lifecycle hook's name too (unique per group)
SCALE_OUT_POLICY = "ScaleOutPolicy"
SCALE_IN_POLICY = "ScaleInPolicy"
SCALE_OUT_ALARM = "QueueBacklogAlarm"
IDLE_ALARM = "QueueIdleAlarm"
DEAD_LETTER_ALARM = "DeadLetterAlarm"
WARM_POOL = "WorkerWarmPool"
LAUNCHING_HOOK = "WorkerLaunchingHook"  # a group with a warm pool: the agent says when it is ready
ON_DEMAND = "OnDemand"  # prefix of a Spot stage's on-demand group and queue: "OnDemandJobQueue"
TOPIC = "NotificationTopic"
TOPIC_KEY = "NotificationTopicKey"
TOPIC_KEY_ALIAS = "NotificationTopicKeyAlias"
QUEUE_POLICY = "QueuesTlsOnly"
INSTANCE_STATE_EVENT = "InstanceStateChange"
BUDGET = "PipelineBudget"

# The tag on the stack and on every resource that costs money: what the pipeline's AWS budget and
# cost reports filter on (activate it as a cost allocation tag in the account's Billing console).
PIPELINE_TAG = "ncap:pipeline"

# Custom resource types, answered by this template's own functions
FOLDERS_TYPE = "Custom::AffiliateFolders"
MEMBERS_TYPE = "Custom::LabMembers"
PIPELINE_USERS_TYPE = "Custom::PipelineUsers"
EMPTIER_TYPE = "Custom::BucketEmptier"  # the folders function answers it too

# Stack outputs, which the local cloud and `ncap credentials` read
BUCKET_OUTPUT = "BucketName"
QUEUE_OUTPUT = "QueueUrl"
DEAD_LETTER_OUTPUT = "DeadLetterQueueUrl"
TOPIC_OUTPUT = "NotificationTopicArn"
WORKER_GROUP_OUTPUT = "WorkerGroupName"
ON_DEMAND_GROUP_OUTPUT = "OnDemandWorkerGroupName"
ON_DEMAND_QUEUE_OUTPUT = "OnDemandQueueUrl"
USER_SECRETS_OUTPUT = "UserSecretsPrefix"

# Suffixes of the Lambda function names: "<PipelineName><suffix>".
FUNCTION_SUFFIXES = {SUBMIT_FUNCTION: "-submit", FOLDERS_FUNCTION: "-folders",
                     USERS_FUNCTION: "-users", MONITOR_FUNCTION: "-monitor", POST_FUNCTION: "-post"}


def camel(name: str) -> str:
    """'carcealab2' -> 'Carcealab2', 'lab-a.b' -> 'LabAB'."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


def role(function_id: str) -> str:
    return f"{function_id}Role"


def log_group(function_id: str) -> str:
    return f"{function_id}LogGroup"


def group(affiliate: str) -> str:
    return f"Group{camel(affiliate)}"


MEMBER_ROLE = "MemberRole"  # a pipeline with Access: the role its labs' signed-in members get sessions of
DIRECTORY_REGISTRATION = "DirectoryRegistration"
DIRECTORY_OUTPUT = "Directory"
# the directory's own stack
USER_POOL = "UserPool"
USER_POOL_CLIENT = "UserPoolClient"
DIRECTORY_FUNCTION = "DirectoryFunction"
SIGN_UP_FUNCTION = "SignUpFunction"
SIGN_UP_PERMISSION = "SignUpFunctionCognitoPermission"
DIRECTORY_LABS = "DirectoryLabs"
DIRECTORY_LABS_TYPE = "Custom::DirectoryLabs"
PORTAL_ORIGIN = "PortalOrigin"
PORTAL_BUCKET = "PortalBucket"
PORTAL_BUCKET_POLICY = "PortalBucketPolicy"
PORTAL_ACCESS = "PortalOriginAccessControl"
PORTAL_HEADERS = "PortalHeaders"
PORTAL_DISTRIBUTION = "PortalDistribution"
PORTAL_FILES = "PortalFiles"
PORTAL_FILES_TYPE = "Custom::PortalFiles"
PORTAL_URL_OUTPUT = "PortalUrl"
PORTAL_HOSTING = (PORTAL_BUCKET, PORTAL_BUCKET_POLICY, PORTAL_ACCESS, PORTAL_HEADERS, PORTAL_DISTRIBUTION, PORTAL_FILES)
DIRECTORY_URL_OUTPUT = "DirectoryUrl"  # SAM names the function URL resource <function>Url
USER_POOL_OUTPUT = "UserPoolId"
CLIENT_OUTPUT = "UserPoolClientId"
JOB_ROLE = "JobRole"  # the role every lab's jobs run with, one session per lab (its name: roles.job_role_name)


def members(affiliate: str, part: int = 0) -> str:
    """The lab's members resource (part 0), or one more part of a large lab."""
    return f"Members{camel(affiliate)}" + (f"Part{part + 1}" if part else "")


def lab_stack(affiliate: str) -> str:
    """The nested stack holding one lab's resources."""
    return f"Lab{camel(affiliate)}"


CANCEL_EVENT = "UploadCancel"  # the submit function's event of a lab member's cancel request


def submit_event(suffix: str | None = None) -> str:
    """The bucket-wide upload event of the submit function (one per fileset suffix)."""
    return f"Upload{camel(suffix or 'Submit')}"


def lab_subscription(affiliate: str) -> str:
    return f"Notices{camel(affiliate)}"


def operator_subscription(position: int) -> str:
    return f"OperatorNotices{position}"


# Physical names -----------------------------------------------------------------------------

BUCKET_NAME_MAX = 63  # S3's limit
ACCESS_LOG_SUFFIX = "-access-logs"
HASH_LENGTH = 8  # hex digits of the hash that keeps a shortened bucket name unique


def function_name(pipeline: str, function_id: str) -> str:
    return pipeline + FUNCTION_SUFFIXES[function_id]


def group_name(pipeline: str, affiliate: str) -> str:
    return f"{pipeline}-{affiliate}"


def queue_name(pipeline: str, fifo: bool, dead_letter: bool = False, stage: str | None = None,
               on_demand: bool = False) -> str:
    base = f"{pipeline}-{stage.lower()}" if stage else pipeline
    kind = "on-demand-jobs" if on_demand else "jobs"
    return f"{base}-{kind}{'-dead' if dead_letter else ''}{'.fifo' if fifo else ''}"


def trigger_dead_letter_queue_name(pipeline: str) -> str:
    return f"{pipeline}-trigger-dead"


def topic_name(pipeline: str) -> str:
    return f"{pipeline}-notices"


def topic_key_alias(pipeline: str) -> str:
    return f"alias/ncap/{pipeline}/notices"


def access_log_bucket_name(pipeline: str) -> str:
    """'<pipeline>-access-logs'; when that is longer than S3 allows, the pipeline name is cut and a
    hash of the whole name keeps it unique: '<start of pipeline>-<hash>-access-logs'."""
    name = pipeline + ACCESS_LOG_SUFFIX
    if len(name) <= BUCKET_NAME_MAX:
        return name
    digest = hashlib.sha256(pipeline.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    keep = BUCKET_NAME_MAX - len(ACCESS_LOG_SUFFIX) - HASH_LENGTH - 1
    return f"{pipeline[:keep].rstrip('-.')}-{digest}{ACCESS_LOG_SUFFIX}"


def access_log_prefix(pipeline: str) -> str:
    """Where in the log bucket the pipeline bucket's access logs go."""
    return f"{pipeline}/"


def user_path(pipeline: str) -> str:
    """The IAM path of the pipeline's users and groups: what tells them from anyone else's."""
    return f"/ncap/{pipeline}/"


def secret_name(pipeline: str, user_name: str) -> str:
    return f"ncap/{pipeline}/{user_name}"


def key_secret_prefix(pipeline: str) -> str:
    """Each created user's access key is in the secret key_secret_prefix + user name."""
    return secret_name(pipeline, "keys/")


def console_secret_prefix(pipeline: str) -> str:
    return secret_name(pipeline, "console/")


def lab_template(affiliate: str) -> str:
    """Where a lab's nested template is written, relative to the parent template."""
    return f"labs/{affiliate}.json"


def worker_group_name(pipeline: str, stage: str | None = None, on_demand: bool = False) -> str:
    """The stage's group; `on_demand`: a Spot stage's on-demand group, for the datasets Spot
    interrupted too often."""
    kind = "on-demand-workers" if on_demand else "workers"
    return f"{pipeline}-{stage.lower()}-{kind}" if stage else f"{pipeline}-{kind}"


def on_demand(logical_id: str) -> str:
    """'JobQueue' -> 'OnDemandJobQueue': the same part of a Spot stage's on-demand capacity."""
    return ON_DEMAND + logical_id


def in_stage(logical_id: str, stage: str | None) -> str:
    """A stage's own resource: 'JobQueue' -> 'JobQueuePreprocess' (unchanged for the one stage of a
    config without Stages)."""
    return logical_id + camel(stage) if stage else logical_id


def budget_name(pipeline: str) -> str:
    return f"{pipeline}-monthly"

# Template parameters, filled by `ncap package`/`deploy` and the local cloud with what they upload
# to the artifact bucket before the stack is made: the bucket, and the agent bundle's key there.
ARTIFACT_BUCKET_PARAMETER = "ArtifactBucket"
AGENT_BUNDLE_PARAMETER = "AgentBundle"

# Images built from the pipeline folder (Workers.Image; template/image.py), per stage
IMAGE_BUILD_ROLE = "ImageBuildRole"
IMAGE_BUILD_PROFILE = "ImageBuildInstanceProfile"
IMAGE_COMPONENT = "ImageSetupComponent"
IMAGE_RECIPE = "ImageRecipe"
IMAGE_INFRASTRUCTURE = "ImageBuildInfrastructure"
IMAGE_TEST_PARAMETER = "ImageTestSpec"
WORKER_IMAGE = "WorkerImage"

# Where `ncap local up` keeps a pipeline's local cloud (local.json, pids.json, logs), inside its folder
LOCAL_STATE_FOLDER = ".ncap/local"


def price_parameter(instance_type: str) -> str:
    """The template parameter of an instance type's hourly price, when ncap deploy looks it up:
    'm5.16xlarge' -> 'HourlyPriceM516xlarge'."""
    return "HourlyPrice" + camel(instance_type.replace(".", "-"))
