"""The submit function: S3 uploads (a submit.json, or the files of a fileset) become queued jobs.
With lab budgets it also reads the ledger of finished jobs (ledger/, nothing else of the
pipeline's own records) to price each submission; unless LAUNCH is false it asks the worker group
for capacity as soon as it has queued jobs."""
from __future__ import annotations

import json

from troposphere import AWSObject, GetAtt, Join, Ref
from troposphere.s3 import Filter, Rules, S3Key
from troposphere.serverless import S3Event

from .. import names
from ..config.model import StackConfig
from ..lambda_repo.ncap_lambda.contract import CANCEL_SUFFIX
from ..lambda_repo.ncap_lambda.ledger import LEDGER_PREFIX
from . import iam
from .functions import FunctionSpec, lambda_function
from .monitoring import topic_key_statement
from .queue import job_queue_arn

MAX_SUBMIT_BYTES = 262144  # 256 KiB
SUBMIT_SUFFIX = "submit.json"
def resources(config: StackConfig, code_uri: str) -> list[AWSObject]:
    """The submit function; `code_uri`: its code folder relative to the template."""
    spec = FunctionSpec(names.SUBMIT_FUNCTION, config.submit.handler,
                        "Checks each lab's submissions and queues their jobs",
                        _statements(config), timeout=config.submit.timeout,
                        environment=environment(config), events=_events(config),
                        dead_letter_queue=names.TRIGGER_DEAD_LETTER_QUEUE)
    return lambda_function(config, spec, code_uri)


def environment(config: StackConfig) -> dict:
    folders, trigger = config.folders, config.trigger
    variables = {
        "BUCKET_NAME": config.pipeline_name,
        "QUEUE_URL": Ref(names.in_stage(names.JOB_QUEUE, config.worker_stages[0].name)),
        "QUEUE_FIFO": str(config.queue.fifo).lower(),
        "TOPIC_ARN": Ref(names.TOPIC),
        "TRIGGER_MODE": trigger.mode,
        "FILESET_SUFFIXES": ",".join(trigger.suffixes),
        "INPUTS_FOLDER": folders.inputs, "CONFIGS_FOLDER": folders.configs,
        "SUBMISSIONS_FOLDER": folders.submissions, "RESULTS_FOLDER": folders.results,
        "LOGS_FOLDER": folders.logs,
        "MAX_SUBMIT_BYTES": str(MAX_SUBMIT_BYTES),
    }
    if config.submit.default_config_name:
        variables["DEFAULT_CONFIG_NAME"] = config.submit.default_config_name
    if config.submit.missing_config_error:
        variables["MISSING_CONFIG_ERROR"] = config.submit.missing_config_error
    if config.pipeline_version:
        variables["PIPELINE_VERSION"] = config.pipeline_version
    if config.workers.launch:
        variables["WORKER_GROUP"] = names.worker_group_name(config.pipeline_name, config.worker_stages[0].name)
    if config.stages:
        variables["STAGES"] = ",".join(str(stage.name) for stage in config.stages)
    return {**variables, **budget_environment(config)}


def budget_environment(config: StackConfig) -> dict:
    """What the function prices a submission with: the hourly price (with Stages, the sum of the
    stages' prices: each dataset runs on an instance of every stage), the expected minutes, the
    common budget and the labs' own ones (only labs whose budget differs)."""
    if not config.has_budgets:
        return {}
    common = config.budgets.per_lab_monthly_usd
    own = {a.name: a.max_cost for a in config.affiliates if a.max_cost is not None and a.max_cost != common}
    return {"HOURLY_PRICE_USD": hourly_price(config),
            "EXPECTED_JOB_MINUTES": _decimal(config.budgets.expected_job_minutes),
            "LAB_BUDGET_USD": "" if common is None else _decimal(common),
            "LAB_BUDGETS_USD": json.dumps(own, sort_keys=True, separators=(",", ":"))}


def hourly_price(config: StackConfig):
    """The sum of the stages' prices; the parts ncap deploy looks up joined to it with +."""
    known = sum(stage.workers.hourly_price_usd or 0.0 for stage in config.worker_stages)
    looked_up = [Ref(names.price_parameter(s.workers.instance_type)) for s in config.worker_stages
                 if s.workers.price_at_deploy]
    return Join("+", [_decimal(known), *looked_up]) if looked_up else _decimal(known)


def _decimal(value: float) -> str:
    """300.0 -> "300", 0.526 -> "0.526", 1234567.89 -> "1234567.89": every digit kept, none added."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _events(config: StackConfig) -> dict:
    """One bucket-wide rule per suffix (S3 allows one notification configuration per bucket, with
    no overlapping rules): a new lab needs no change here. The function finds the lab in the key
    and ignores, with one log line, every key outside a configured lab's submissions/ (or, in
    fileset mode, inputs/) folder, such as a job result that happens to end the same way."""
    suffixes = config.trigger.suffixes if config.trigger.mode == "fileset" else (None,)
    events = {names.submit_event(suffix): _s3_event(names.submit_event(suffix), suffix or SUBMIT_SUFFIX)
              for suffix in suffixes}
    # a lab member's request to cancel a job: LAB/submissions/...cancel.json, in either mode
    events[names.CANCEL_EVENT] = _s3_event(names.CANCEL_EVENT, CANCEL_SUFFIX)
    return events


def _s3_event(title: str, suffix: str) -> S3Event:
    rules = [Rules(Name="suffix", Value=suffix)]
    return S3Event(title, Bucket=Ref(names.BUCKET), Events=["s3:ObjectCreated:*"],
                   Filter=Filter(S3Key=S3Key(Rules=rules)))


def _statements(config: StackConfig) -> list[dict]:
    bucket, f = config.pipeline_name, config.folders
    readable = [f.inputs, f.configs, f.submissions, f.results]
    return [
        # ListBucketVersions and GetObjectVersion: each dataset and config is pinned to the version submitted
        iam.statement("ListBucket", ["s3:ListBucket", "s3:ListBucketVersions"], [iam.bucket_arn(bucket)]),
        iam.statement("ReadLabFolders", ["s3:GetObject", "s3:GetObjectVersion"],
                      [iam.object_arn(bucket, f"*/{folder}/*") for folder in readable]),
        iam.statement("WriteJobStatus", ["s3:PutObject"], [iam.object_arn(bucket, f"*/{f.results}/*")]),
        iam.statement("QueueJobs", ["sqs:SendMessage"], [job_queue_arn(config)]),
        iam.statement("KeepFailedEvents", ["sqs:SendMessage"],
                      [GetAtt(names.TRIGGER_DEAD_LETTER_QUEUE, "Arn")]),
        iam.statement("NotifyLabs", ["sns:Publish"], [Ref(names.TOPIC)]),
        topic_key_statement(),
        *(_ledger_statements(config) if config.has_budgets else []),
        *(_capacity_statements(config) if config.workers.launch else []),
    ]


def _ledger_statements(config: StackConfig) -> list[dict]:
    bucket = config.pipeline_name
    return [
        iam.statement("ListLedger", ["s3:ListBucket"], [iam.bucket_arn(bucket)],
                      condition={"StringLike": {"s3:prefix": [LEDGER_PREFIX + "*"]}}),
        iam.statement("ReadLedger", ["s3:GetObject"], [iam.object_arn(bucket, LEDGER_PREFIX + "*")]),
    ]


def _capacity_statements(config: StackConfig) -> list[dict]:
    group = names.worker_group_name(config.pipeline_name, config.worker_stages[0].name)
    return [
        # autoscaling:DescribeAutoScalingGroups has no resource-level permissions: "*" is its only resource.
        iam.statement("FindWorkerGroup", ["autoscaling:DescribeAutoScalingGroups"], ["*"]),
        iam.statement("AskForWorkers", ["autoscaling:SetDesiredCapacity"],
                      [iam.service_arn("autoscaling", f"autoScalingGroup:*:autoScalingGroupName/{group}")]),
        iam.statement("CountQueuedJobs", ["sqs:GetQueueAttributes"], [job_queue_arn(config)]),
    ]
