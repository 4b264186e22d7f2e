"""The SQS job queue and its dead-letter queue (one pair per stage), and a dead-letter queue for
submit events the function could not handle. Server-side encrypted, TLS only; FIFO when the
config (or the stage) asks."""
from __future__ import annotations

from troposphere import AWSObject, GetAtt, Output, Ref
from troposphere.sqs import Queue, QueuePolicy, RedrivePolicy

from .. import names
from ..config.model import StackConfig, Stage
from . import iam
from .tags import pipeline_tags

DEAD_LETTER_RETENTION = 1209600  # 14 days, the SQS maximum
LONG_POLL_SECONDS = 20


def resources(config: StackConfig) -> list[AWSObject]:
    tags = pipeline_tags(config)
    queues = [queue for stage in config.worker_stages for queue in _stage_queues(config, stage, tags)]
    trigger_dead = _queue(names.TRIGGER_DEAD_LETTER_QUEUE,
                          names.trigger_dead_letter_queue_name(config.pipeline_name), False, Tags=tags)
    return [*queues, trigger_dead, _tls_only([*queues, trigger_dead])]


def _stage_queues(config: StackConfig, stage: Stage, tags) -> list[Queue]:
    """The stage's job queue and dead-letter queue; a Spot stage with an on-demand fallback also
    has the on-demand group's job queue, whose failures go to the same dead-letter queue."""
    fifo, pipeline = stage.queue.fifo, config.pipeline_name
    sources = [job_queue_arn(config, stage, on_demand) for on_demand in stage.capacities]
    dead = _queue(names.in_stage(names.DEAD_LETTER_QUEUE, stage.name),
                  names.queue_name(pipeline, fifo, dead_letter=True, stage=stage.name), fifo, Tags=tags,
                  RedriveAllowPolicy={"redrivePermission": "byQueue", "sourceQueueArns": sources})
    return [*(_job_queue(config, stage, dead, tags, on_demand) for on_demand in stage.capacities), dead]


def _job_queue(config: StackConfig, stage: Stage, dead: Queue, tags, on_demand: bool) -> Queue:
    logical_id = names.in_stage(names.JOB_QUEUE, stage.name)
    return _queue(names.on_demand(logical_id) if on_demand else logical_id,
                  names.queue_name(config.pipeline_name, stage.queue.fifo, stage=stage.name, on_demand=on_demand),
                  stage.queue.fifo, Tags=tags, VisibilityTimeout=stage.queue.visibility_timeout,
                  MessageRetentionPeriod=stage.queue.message_retention,
                  ReceiveMessageWaitTimeSeconds=LONG_POLL_SECONDS,
                  RedrivePolicy=RedrivePolicy(deadLetterTargetArn=GetAtt(dead, "Arn"),
                                              maxReceiveCount=stage.queue.max_receive_count))


def outputs(config: StackConfig) -> list[Output]:
    first = " (of the first stage)" if config.stages else ""
    found = [Output(names.QUEUE_OUTPUT, Description=f"The job queue{first}",
                    Value=Ref(names.in_stage(names.JOB_QUEUE, config.worker_stages[0].name))),
             Output(names.DEAD_LETTER_OUTPUT, Description="Jobs that failed every allowed attempt",
                    Value=Ref(names.in_stage(names.DEAD_LETTER_QUEUE, config.worker_stages[0].name)))]
    for stage in config.stages:
        found += [Output(names.in_stage(names.QUEUE_OUTPUT, stage.name),
                         Description=f"The job queue of stage {stage.name}",
                         Value=Ref(names.in_stage(names.JOB_QUEUE, stage.name))),
                  Output(names.in_stage(names.DEAD_LETTER_OUTPUT, stage.name),
                         Description=f"Jobs of stage {stage.name} that failed every allowed attempt",
                         Value=Ref(names.in_stage(names.DEAD_LETTER_QUEUE, stage.name)))]
    for stage in config.worker_stages:
        if stage.workers.on_demand_fallback:
            of = f" of stage {stage.name}" if stage.name else ""
            found.append(Output(names.in_stage(names.ON_DEMAND_QUEUE_OUTPUT, stage.name),
                                Description=f"The on-demand group's job queue{of}: datasets Spot interrupted too often",
                                Value=Ref(names.on_demand(names.in_stage(names.JOB_QUEUE, stage.name)))))
    return found


def job_queue_arn(config: StackConfig, stage: Stage | None = None, on_demand: bool = False):
    """Built from the queue's name, so that policies can name it without a circular reference;
    the first stage's when no stage is given."""
    stage = stage or config.worker_stages[0]
    return iam.service_arn("sqs", names.queue_name(config.pipeline_name, stage.queue.fifo, stage=stage.name,
                                                   on_demand=on_demand))


def _queue(logical_id: str, name: str, fifo: bool, **properties) -> Queue:
    queue = Queue(logical_id, QueueName=name, SqsManagedSseEnabled=True, **properties)
    if "MessageRetentionPeriod" not in properties:
        queue.MessageRetentionPeriod = DEAD_LETTER_RETENTION
    if fifo:
        queue.FifoQueue = True
    return queue


def _tls_only(queues: list[Queue]) -> QueuePolicy:
    deny = iam.statement("DenyInsecureTransport", ["sqs:*"], [GetAtt(q, "Arn") for q in queues],
                         condition={"Bool": {"aws:SecureTransport": "false"}}, effect="Deny")
    deny["Principal"] = "*"
    return QueuePolicy(names.QUEUE_POLICY, Queues=[Ref(q) for q in queues], PolicyDocument=iam.document(deny))
