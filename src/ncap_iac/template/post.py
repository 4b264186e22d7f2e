"""The post-processing function (Lambda.PostCodeUri/PostHandler): the developer's code behind the
product's wrapper (lambda_repo/ncap_post.py), run for each job result whose key ends in
PostTrigger. Its role reads and writes each configured lab's results folder, and nothing else of
the pipeline: no inputs, configs or submissions, no queue, no topic."""
from __future__ import annotations

from troposphere import AWSObject, GetAtt, Ref
from troposphere.s3 import Filter, Rules, S3Key
from troposphere.serverless import S3Event

from .. import names
from ..config.model import StackConfig
from ..lambda_code import POST_FOLDER, POST_HANDLER
from . import iam
from .functions import FunctionSpec, lambda_function

TIMEOUT = 300  # seconds a post-processing run may take
MEMORY = 512


def resources(config: StackConfig) -> list[AWSObject]:
    if config.post is None:
        return []
    spec = FunctionSpec(names.POST_FUNCTION, POST_HANDLER,
                        "Runs the pipeline's post-processing on each finished job's results",
                        statements(config), timeout=TIMEOUT, memory=MEMORY,
                        environment=environment(config), events=_events(config),
                        dead_letter_queue=names.TRIGGER_DEAD_LETTER_QUEUE)
    return lambda_function(config, spec, POST_FOLDER)


def environment(config: StackConfig) -> dict:
    assert config.post is not None
    return {"BUCKET_NAME": config.pipeline_name, "RESULTS_FOLDER": config.folders.results,
            "POST_HANDLER": config.post.handler, "POST_TRIGGER": config.post.trigger}


def _events(config: StackConfig) -> dict:
    """One bucket-wide rule, as the submit function's: the wrapper ignores, with one log line,
    every key outside a configured lab's results."""
    assert config.post is not None
    rules = [Rules(Name="suffix", Value=config.post.trigger)]
    return {names.POST_EVENT: S3Event(names.POST_EVENT, Bucket=Ref(names.BUCKET), Events=["s3:ObjectCreated:*"],
                                      Filter=Filter(S3Key=S3Key(Rules=rules)))}


def statements(config: StackConfig) -> list[dict]:
    bucket, results = config.pipeline_name, config.folders.results
    labs = [iam.object_arn(bucket, f"{lab.name}/{results}/*") for lab in config.affiliates]
    return [
        iam.statement("ReadWriteLabResults", ["s3:GetObject", "s3:PutObject"], labs),
        iam.statement("KeepFailedEvents", ["sqs:SendMessage"], [GetAtt(names.TRIGGER_DEAD_LETTER_QUEUE, "Arn")]),
    ]
