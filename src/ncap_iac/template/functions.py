"""One Lambda function as the template declares it: the SAM function, its own role (logs scoped
to its own log group) and its log group with retention."""
from __future__ import annotations

from dataclasses import dataclass, field

from troposphere import GetAtt, Ref
from troposphere.cloudformation import CustomResource
from troposphere.logs import LogGroup
from troposphere.serverless import DeadLetterQueue, Environment, Function

from .. import names
from ..config.model import StackConfig
from ..lambda_code import CODE_FOLDER
from . import iam
from .tags import pipeline_tag_map, pipeline_tags

RUNTIME = "python3.12"
# `sam build` runs lambda_repo/Makefile, which fetches the requirements for the runtime's Python,
# so building needs no python3.12 on the build machine.
BUILD_METADATA = {"BuildMethod": "makefile"}


@dataclass
class FunctionSpec:
    logical_id: str
    handler: str
    description: str
    statements: list[dict]
    timeout: int = 60
    memory: int = 256
    environment: dict = field(default_factory=dict)
    events: dict = field(default_factory=dict)
    dead_letter_queue: str | None = None  # logical id of an SQS queue


def lambda_function(config: StackConfig, spec: FunctionSpec, code_uri: str = CODE_FOLDER) -> list:
    """The function's log group, role and SAM function; its code is the product's (the folder beside
    the template that `ncap compile` fills), unless `code_uri` names another folder."""
    name = names.function_name(config.pipeline_name, spec.logical_id)
    log_group = LogGroup(names.log_group(spec.logical_id), LogGroupName=f"/aws/lambda/{name}",
                         RetentionInDays=config.retention.log_retention_days, Tags=pipeline_tags(config))
    role = iam.service_role(names.role(spec.logical_id), "lambda.amazonaws.com", "least-privilege",
                            [_logs_statement(name)] + spec.statements)
    function = Function(spec.logical_id, FunctionName=name, Description=spec.description,
                        CodeUri=code_uri, Handler=spec.handler, Runtime=RUNTIME,
                        Timeout=spec.timeout, MemorySize=spec.memory, Role=GetAtt(role, "Arn"),
                        Tags=pipeline_tag_map(config), DependsOn=[log_group.title])
    if code_uri == CODE_FOLDER:  # the product's code has its Makefile; a folder of the config's own is sam's to build
        function.Metadata = BUILD_METADATA
    if spec.environment:
        function.Environment = Environment(Variables=spec.environment)
    if spec.events:
        function.Events = spec.events
    if spec.dead_letter_queue:
        function.DeadLetterQueue = DeadLetterQueue(Type="SQS", TargetArn=GetAtt(spec.dead_letter_queue, "Arn"))
    return [log_group, role, function]


def _logs_statement(function_name: str) -> dict:
    group = f"log-group:/aws/lambda/{function_name}"
    return iam.statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                         [iam.service_arn("logs", group + ":*")])


def ref(logical_id: str) -> Ref:
    return Ref(logical_id)


def custom_resource(logical_id: str, resource_type: str, service_token, **properties):
    """A Custom:: resource answered by the function whose ARN `service_token` gives (GetAtt of one
    of the template's functions, or a nested template's parameter)."""
    kind = type(resource_type.replace("::", ""), (CustomResource,),
                {"resource_type": resource_type, "props": {"ServiceToken": (str, True)}})
    return kind(logical_id, ServiceToken=service_token, **properties)
