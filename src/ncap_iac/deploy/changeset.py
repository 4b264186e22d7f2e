"""`ncap deploy --method changeset` and `ncap diff`, in Python with boto3: package the code, make a
change set (the SAM transform needs one), show what it changes, and (deploy) execute it and follow
the stack's events until it settles. On an emulator the template is translated here first and the
stack is finished by ncap_iac.deploy.emulator."""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import DeployError, NcapError
from . import artifacts, cfn, checks, diff, emulator, events
from .prompt import confirm, require_answerable
from .target import Pipeline, Target, artifact_bucket, load_pipeline, target_for

REAL_POLL = cfn.Poll(interval=5.0, timeout=3600.0)
EMULATOR_POLL = cfn.Poll(interval=0.2, timeout=120.0)


@dataclass(frozen=True)
class Shipment:
    pipeline: Pipeline
    target: Target
    bucket: str

    @property
    def poll(self) -> cfn.Poll:
        return EMULATOR_POLL if self.target.endpoint else REAL_POLL


def prepare(args, say) -> Shipment:
    pipeline = load_pipeline(args.pipeline_dir, say)
    target = target_for(pipeline, args.endpoint_url, args.translate_locally, say)
    bucket = artifact_bucket(pipeline, args.s3_bucket)
    artifacts.ensure_bucket(target.aws, bucket, create=target.emulator, say=say)
    return Shipment(pipeline, target, bucket)


def account_check(shipment: Shipment, args, say, stop: bool) -> None:
    """Report conflicts in the account; stop the deployment on one unless told to skip the check."""
    if getattr(args, "skip_account_check", False):
        say("account check skipped (--skip-account-check)")
        return
    aws, name = shipment.target.aws, shipment.pipeline.name
    owned = cfn.stack_resources(aws.cloudformation, name) if cfn.describe_stack(aws.cloudformation, name) else {}
    findings = checks.check_account(shipment.pipeline, aws, owned, getattr(args, "allow_shared_affiliates", False))
    if checks.report(findings, say) and stop:
        problems = sum(1 for f in findings if f.blocking)
        raise NcapError(f"the account check found {problems} problem(s) (above): nothing was deployed "
                        f"(--skip-account-check deploys anyway, and CloudFormation will then fail on them)")


def stack_template(shipment: Shipment, say) -> dict:
    """The template to deploy: code uploaded, and translated here when the target needs it."""
    pipeline, aws = shipment.pipeline, shipment.target.aws
    template = artifacts.package_functions(pipeline.template, pipeline.folder, pipeline.name, aws,
                                           shipment.bucket, say)
    if not shipment.target.translate_locally:
        return template
    from .translate import translate

    translated = emulator.dependency_order(translate(template, pipeline.region))
    say(f"translated the SAM template here: {len(translated['Resources'])} CloudFormation resources")
    return translated


def plan(shipment: Shipment, template: dict, say):
    """Create the change set and print its diff; (change set, changes), or None if nothing changes."""
    aws, name = shipment.target.aws, shipment.pipeline.name
    kind = cfn.change_set_kind(cfn.describe_stack(aws.cloudformation, name), name)
    source = artifacts.template_source(aws, json.dumps(template), shipment.bucket, name, say)
    say(f"creating a change set ({kind}) for stack {name} in {aws.where()}")
    change_set = cfn.create_change_set(aws.cloudformation, name, source, kind, f"ncap deploy of {name}")
    described = cfn.wait_change_set(aws.cloudformation, change_set, shipment.poll)
    if described is None:
        cfn.delete_change_set(aws.cloudformation, change_set)
        say(f"no changes: stack {name} already runs this template")
        return None
    changes = cfn.all_changes(aws.cloudformation, change_set, described)
    for line in diff.render(changes, name, kind, change_set.name):
        say(line)
    return change_set, changes


def show_diff(args, say) -> int:
    shipment = prepare(args, say)
    account_check(shipment, args, say, stop=False)
    planned = plan(shipment, stack_template(shipment, say), say)
    if planned:
        cfn.delete_change_set(shipment.target.aws.cloudformation, planned[0])
        say(f"deleted change set {planned[0].name}: nothing was deployed")
    return 0


def deploy(args, say) -> int:
    require_answerable(args.yes, "ncap deploy")
    shipment = prepare(args, say)
    account_check(shipment, args, say, stop=True)
    template = stack_template(shipment, say)
    aws, name = shipment.target.aws, shipment.pipeline.name
    before = emulator.snapshot(aws, name) if shipment.target.emulator else None
    planned = plan(shipment, template, say)
    if planned is None:
        return 0
    change_set, changes = planned
    if not confirm(f"Deploy these {len(changes)} changes to stack {name}?", args.yes):
        cfn.delete_change_set(aws.cloudformation, change_set)
        raise NcapError(f"cancelled: change set {change_set.name} deleted, nothing was deployed")
    settled = execute(shipment, change_set, len(changes), say)
    if before is not None:
        emulator.complete(before, template, aws, change_set.stack_id, shipment.pipeline.template_path, say)
    print_outputs(settled.stack, say)
    return 0


def execute(shipment: Shipment, change_set: cfn.ChangeSet, expected: int, say) -> events.Settled:
    aws = shipment.target.aws
    seen = events.seen_event_ids(aws.cloudformation, change_set.stack_id)
    say(f"executing change set {change_set.name}")
    refused = cfn.execute_change_set(aws.cloudformation, change_set)
    if refused:
        raise DeployError(f"{refused}; {_after_refusal(shipment, change_set)}")
    settled = events.follow(aws.cloudformation, change_set.stack_id, seen, expected, shipment.poll, say)
    events.check(settled, f"deploy of {shipment.pipeline.name}", say)
    return settled


def _after_refusal(shipment: Shipment, change_set: cfn.ChangeSet) -> str:
    stack = cfn.describe_stack(shipment.target.aws.cloudformation, change_set.stack_id) or {}
    status = stack.get("StackStatus", "gone")
    if shipment.target.endpoint:
        return (f"the emulator does not roll back: stack {shipment.pipeline.name} is left {status}; "
                f"`ncap delete` removes it")
    return f"nothing was changed (stack {status})"


def print_outputs(stack: dict, say) -> None:
    outputs = cfn.outputs(stack)
    if not outputs:
        say("the stack reports no outputs (an emulator fills none for stacks made by a change set); "
            "`ncap credentials` finds the lab secrets by name")
        return
    say("outputs:")
    for key, value in sorted(outputs.items()):
        say(f"  {key} = {value}")
