"""Deploy a compiled pipeline to the emulator: the same template, translated offline (moto does
not run the SAM transform), created with CloudFormation; then the custom resources are answered
by running the real handlers, and what moto's CloudFormation skips is created from the template."""
from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..compiler import compile_config
from ..config.model import StackConfig
from ..deploy.translate import translate
from ..errors import NcapError
from . import gaps
from .invoke import function_spec, invoke
from .resolve import StackContext, resolve

ARTIFACT_BUCKET = "ncap-local-artifacts"
CAPABILITIES = ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
SERVICES = ("s3", "sqs", "sns", "iam", "secretsmanager", "cloudformation", "autoscaling", "cloudwatch", "sts")


class Clients:
    """One boto3 client per service, all pointed at the emulator."""

    def __init__(self, endpoint: str, region: str, key_id: str, secret: str):
        import boto3

        session = boto3.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=region)
        for service in SERVICES:
            setattr(self, service, session.client(service, endpoint_url=endpoint))


@dataclass
class LocalStack:
    stack_id: str
    template: dict  # as translated
    template_path: Path  # the SAM template, CodeUri relative to it
    context: StackContext
    outputs: dict


def deploy(config: StackConfig, state_dir: Path, clients: Clients, endpoint: str, say) -> LocalStack:
    template_path = state_dir / "compiled_template.json"
    compiled = compile_config(config, state_dir)
    template_path.write_text(compiled.body, encoding="utf-8")
    say(f"compiled {config.pipeline_name}: {compiled.resource_count} resources")
    translated = translate(compiled.template, config.region, _upload_code(config, clients))
    stack_id = clients.cloudformation.create_stack(
        StackName=config.pipeline_name, TemplateBody=json.dumps(translated), Capabilities=CAPABILITIES)["StackId"]
    context = _context(config, clients, stack_id, translated)
    say("stack created on the emulator; answering its custom resources with the real handlers")
    _answer_custom_resources(translated, context, template_path, endpoint, stack_id)
    created = gaps.create_missing(translated, context, clients)
    say(f"created {len(created)} resources moto's CloudFormation skips (groups, policies, alarms, ...)")
    for logical_id, physical in sorted(created.items()):
        if physical.startswith(gaps.NOT_APPLIED):
            say(f"note: {logical_id} statement(s) {physical[len(gaps.NOT_APPLIED):]} {gaps.NOT_APPLIED.strip(': ')}")
    outputs = _wait_complete(clients, stack_id)
    return LocalStack(stack_id, translated, template_path, context, outputs)


def _upload_code(config: StackConfig, clients: Clients) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(config.submit.code_uri.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(config.submit.code_uri).as_posix())
    key = f"{config.pipeline_name}/lambda.zip"
    clients.s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    clients.s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=buffer.getvalue())
    return f"s3://{ARTIFACT_BUCKET}/{key}"


def _context(config: StackConfig, clients: Clients, stack_id: str, template: dict) -> StackContext:
    summaries = clients.cloudformation.list_stack_resources(StackName=stack_id)["StackResourceSummaries"]
    account = clients.sts.get_caller_identity()["Account"]
    return StackContext(config.region, account, config.pipeline_name,
                        {s["LogicalResourceId"]: s.get("PhysicalResourceId") for s in summaries},
                        {k: r["Type"] for k, r in template["Resources"].items()})


def _answer_custom_resources(template: dict, context: StackContext, sam_template: Path, endpoint: str,
                             stack_id: str) -> None:
    for logical_id, resource in sorted(template["Resources"].items()):
        if not resource["Type"].startswith("Custom::"):
            continue
        token = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
        event = {"RequestType": "Create", "ServiceToken": context.get_att(token, "Arn"),
                 "ResponseURL": f"{endpoint}/cloudformation_{context.region}/cfnresponse?stack={stack_id}",
                 "StackId": stack_id, "RequestId": f"ncap-local-{logical_id}", "LogicalResourceId": logical_id,
                 "ResourceType": resource["Type"], "ResourceProperties": resolve(resource["Properties"], context)}
        outcome = invoke(function_spec(sam_template, token, {}), event, context.region)
        if "result" not in outcome:
            raise NcapError(f"custom resource {logical_id}: {outcome['errorType']}: {outcome['errorMessage']}")
        answer = outcome["result"] if isinstance(outcome["result"], dict) else {}
        if answer.get("Status") != "SUCCESS":  # the handler answered FAILED (it does not raise)
            raise NcapError(f"custom resource {logical_id} failed: {answer.get('Reason') or 'no reason given'}")


def _wait_complete(clients: Clients, stack_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        stack = clients.cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
        if stack["StackStatus"] == "CREATE_COMPLETE":
            return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if stack["StackStatus"].endswith("FAILED") or time.monotonic() > deadline:
            raise NcapError(f"the stack on the emulator ended {stack['StackStatus']}: "
                            f"{stack.get('StackStatusReason', 'no reason given')}")
        time.sleep(0.1)
