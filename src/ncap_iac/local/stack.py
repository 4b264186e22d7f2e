"""The pipeline's stack on the local cloud's emulator: the same template, translated offline
(moto has no SAM transform), created with CloudFormation, then finished as CloudFormation would
(custom resources answered by the real handlers, skipped resource types made) by the emulator
package."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..aws.artifacts import package_functions, package_nested
from ..aws.clients import Aws
from ..aws.stacks import outputs, wait_settled
from ..aws.worker_artifacts import as_stack_parameters, upload_worker_artifacts
from ..compiler import CAPABILITIES, TEMPLATE_NAME, compile_config, stack_tags, write_children, write_code
from ..config.model import StackConfig
from ..emulator.changes import Snapshot, complete
from ..emulator.context import StackContext, live_context
from ..emulator.custom_resources import FunctionSettings
from ..emulator.order import dependency_order
from ..emulator.prepare import for_moto
from ..errors import NcapError
from ..translate import translate

ARTIFACT_BUCKET = "ncap-local-artifacts"
SETTLE_SECONDS = 60.0


@dataclass
class LocalStack:
    stack_id: str
    template: dict  # as translated
    template_path: Path  # the SAM template, CodeUri relative to it
    context: StackContext
    outputs: dict


def deploy(config: StackConfig, state_dir: Path, aws: Aws, say,
           as_function: FunctionSettings | None = None) -> LocalStack:
    """The stack on the emulator, its custom resources answered by the real handlers (each with
    the AWS settings `as_function` gives it; without it, as `aws`)."""
    template_path = state_dir / TEMPLATE_NAME
    unpriced = sorted({s.workers.instance_type for s in config.worker_stages if s.workers.price_at_deploy})
    if unpriced:
        raise NcapError(f"the price of {', '.join(unpriced)} in {config.region} is not in the price table, and the "
                        f"local cloud has no AWS Price List API to ask: set Workers.HourlyPriceUSD")
    compiled = compile_config(config, state_dir)
    write_code(state_dir, config)
    template_path.write_text(compiled.body, encoding="utf-8")
    say(f"compiled {config.pipeline_name}: {compiled.resource_count} resources")
    aws.s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    stand_in_existing_users(config, aws)
    write_children(state_dir, compiled)
    packaged = package_functions(compiled.template, state_dir, config.pipeline_name, aws, ARTIFACT_BUCKET,
                                 say=lambda line: None, requirements=False)
    packaged = package_nested(packaged, state_dir, config.pipeline_name, aws, ARTIFACT_BUCKET, say=lambda line: None)
    parameters = upload_worker_artifacts(aws, ARTIFACT_BUCKET, config.artifact_folders, say=lambda line: None)
    say(f"uploaded the worker agent bundle and the analysis code to s3://{ARTIFACT_BUCKET}/ncap/")
    translated = for_moto(dependency_order(translate(packaged, config.region)), aws)
    if any(stage.workers.image for stage in config.worker_stages):
        say("EC2 Image Builder does not run here: each image the pipeline builds is a stand-in image of the "
            "emulator (the setup scripts are not run on this machine; `ncap sample` runs the image's test)")
    tags = [{"Key": k, "Value": v} for k, v in stack_tags(config).items()]
    once = aws.single_attempt("cloudformation")  # a slow answer must not make the stack twice
    stack_id = once.create_stack(StackName=config.pipeline_name, TemplateBody=json.dumps(translated),
                                 Capabilities=list(CAPABILITIES), Tags=tags,
                                 Parameters=as_stack_parameters(parameters))["StackId"]
    say("stack created on the emulator; answering its custom resources with the real handlers")
    done = complete(Snapshot(), translated, aws, stack_id, template_path, as_function)
    say(f"created {done.provisioned} resources moto's CloudFormation skips (groups, policies, alarms, ...)")
    stack = wait_settled(aws.cloudformation, stack_id, SETTLE_SECONDS)
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise NcapError(f"the stack on the emulator ended {stack['StackStatus']}: "
                        f"{stack.get('StackStatusReason', 'no reason given')}")
    return LocalStack(stack_id, translated, template_path, live_context(aws, stack_id, translated), outputs(stack))


def stand_in_existing_users(config: StackConfig, aws: Aws) -> None:
    """The IAM users a lab lists as existing are in the AWS account already; on a fresh emulator
    they are made (without keys) so that the lab's group can take them in."""
    existing = sorted({user for lab in config.affiliates for user in lab.existing_user_names})
    for user in existing:
        try:
            aws.iam.get_user(UserName=user)
        except aws.iam.exceptions.NoSuchEntityException:
            aws.iam.create_user(UserName=user)
