"""The SQS job queue, its dead-letter queue, and a dead-letter queue for submit events the
function could not handle. Server-side encrypted, TLS only; FIFO when the config asks."""
from __future__ import annotations

from troposphere import AWSObject, GetAtt, Output, Ref
from troposphere.sqs import Queue, QueuePolicy, RedrivePolicy

from .. import names
from ..config.model import StackConfig
from . import iam
from .tags import pipeline_tags

DEAD_LETTER_RETENTION = 1209600  # 14 days, the SQS maximum
LONG_POLL_SECONDS = 20


def resources(config: StackConfig) -> list[AWSObject]:
    fifo = config.queue.fifo
    tags = pipeline_tags(config)
    dead = _queue(names.DEAD_LETTER_QUEUE, names.queue_name(config.pipeline_name, fifo, dead_letter=True),
                  fifo, Tags=tags, RedriveAllowPolicy={"redrivePermission": "byQueue",
                                            "sourceQueueArns": [job_queue_arn(config)]})
    jobs = _queue(names.JOB_QUEUE, names.queue_name(config.pipeline_name, fifo), fifo, Tags=tags,
                  VisibilityTimeout=config.queue.visibility_timeout,
                  MessageRetentionPeriod=config.queue.message_retention,
                  ReceiveMessageWaitTimeSeconds=LONG_POLL_SECONDS,
                  RedrivePolicy=RedrivePolicy(deadLetterTargetArn=GetAtt(dead, "Arn"),
                                              maxReceiveCount=config.queue.max_receive_count))
    trigger_dead = _queue(names.TRIGGER_DEAD_LETTER_QUEUE,
                          names.trigger_dead_letter_queue_name(config.pipeline_name), False, Tags=tags)
    return [jobs, dead, trigger_dead, _tls_only([jobs, dead, trigger_dead])]


def outputs(config: StackConfig) -> list[Output]:
    return [Output(names.QUEUE_OUTPUT, Description="The job queue", Value=Ref(names.JOB_QUEUE)),
            Output(names.DEAD_LETTER_OUTPUT, Description="Jobs that failed every allowed attempt",
                   Value=Ref(names.DEAD_LETTER_QUEUE))]


def job_queue_arn(config: StackConfig):
    """Built from the queue's name, so that policies can name it without a circular reference."""
    return iam.service_arn("sqs", names.queue_name(config.pipeline_name, config.queue.fifo))


def _queue(logical_id: str, name: str, fifo: bool, **properties) -> Queue:
    queue = Queue(logical_id, QueueName=name, SqsManagedSseEnabled=True, **properties)
    if logical_id != names.JOB_QUEUE:
        queue.MessageRetentionPeriod = DEAD_LETTER_RETENTION
    if fifo:
        queue.FifoQueue = True
    return queue


def _tls_only(queues: list[Queue]) -> QueuePolicy:
    deny = iam.statement("DenyInsecureTransport", ["sqs:*"], [GetAtt(q, "Arn") for q in queues],
                         condition={"Bool": {"aws:SecureTransport": "false"}}, effect="Deny")
    deny["Principal"] = "*"
    return QueuePolicy(names.QUEUE_POLICY, Queues=[Ref(q) for q in queues], PolicyDocument=iam.document(deny))
