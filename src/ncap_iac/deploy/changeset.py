"""`ncap deploy --method changeset` and `ncap diff`, in Python with boto3: package the code, make a
change set (the SAM transform needs one), show what it changes, and (deploy) execute it and follow
the stack's events until it settles. On an emulator the template is translated here first and the
stack is finished by the emulator package (ncap_iac.emulator.changes)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from .. import names
from ..aws import artifacts
from ..aws.price_list import PRICE_LIST_REGION, on_demand_price
from ..aws.stacks import describe_stack, outputs, stack_resources
from ..aws.worker_artifacts import upload_worker_artifacts
from ..compiler import stack_tags
from ..emulator import changes as emulator
from ..emulator.prepare import for_moto
from ..errors import DeployError, NcapError
from . import buckets, cfn, checks, diff, events
from .nested_diff import nested_changes
from .options import ShipOptions
from .prompt import confirm, require_answerable
from .target import Pipeline, Target, load_pipeline, target_for

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


@dataclass(frozen=True)
class Deployed:
    """How a deployment ended: the stack's status and outputs, and how many changes it made."""

    stack_name: str
    status: str
    changes: int | None  # None: the sam CLI did the change, uncounted
    outputs: dict


def prepare(options: ShipOptions, say) -> Shipment:
    pipeline = load_pipeline(options.pipeline_dir, say)
    target = target_for(pipeline, options.target, say)
    given = options.target.s3_bucket or pipeline.config.artifact_bucket
    bucket = buckets.artifact_bucket(target.aws, given, target.emulator, say)
    return Shipment(pipeline, target, bucket)


def account_check(shipment: Shipment, options: ShipOptions, say, stop: bool) -> None:
    """Report conflicts in the account; stop the deployment on one unless told to skip the check."""
    if options.account.skip_check:
        say("account check skipped (--skip-account-check)")
        return
    aws, name = shipment.target.aws, shipment.pipeline.name
    owned = stack_resources(aws.cloudformation, name) if describe_stack(aws.cloudformation, name) else {}
    findings = checks.check_account(shipment.pipeline, aws, owned, options.account.allow_shared_affiliates)
    if checks.report(findings, say) and stop:
        problems = sum(1 for f in findings if f.blocking)
        raise NcapError(f"the account check found {problems} problem(s) (above): nothing was deployed "
                        f"(--skip-account-check deploys anyway, and CloudFormation will then fail on them)")


def worker_parameters(shipment: Shipment, say) -> dict[str, str]:
    """The agent bundle and the analysis code uploaded, and the prices the table lacks looked up;
    the template parameters that name them."""
    config = shipment.pipeline.config
    found = upload_worker_artifacts(shipment.target.aws, shipment.bucket, config.artifact_folders, say)
    return {**found, **looked_up_prices(shipment, say)}


def looked_up_prices(shipment: Shipment, say) -> dict[str, str]:
    """Each price parameter of the template, from the AWS Price List API."""
    config, target = shipment.pipeline.config, shipment.target
    kinds = sorted({s.workers.instance_type for s in config.worker_stages if s.workers.price_at_deploy})
    if kinds and target.endpoint:
        raise NcapError(f"the price of {', '.join(kinds)} in {config.region} is not in the price table, and an "
                        f"endpoint has no AWS Price List API: set Workers.HourlyPriceUSD")
    found = {}
    for kind in kinds:
        pricing = target.aws.session().client("pricing", region_name=PRICE_LIST_REGION)
        price = on_demand_price(pricing, kind, config.region)
        say(f"the AWS Price List API: {kind} in {config.region} costs ${price:g}/h on demand")
        found[names.price_parameter(kind)] = f"{price:g}"
    return found


def stack_template(shipment: Shipment, say) -> dict:
    """The template to deploy: code uploaded, and translated here when the target needs it."""
    pipeline, aws = shipment.pipeline, shipment.target.aws
    template = artifacts.package_functions(pipeline.template, pipeline.folder, pipeline.name, aws,
                                           shipment.bucket, say)
    template = artifacts.package_nested(template, pipeline.folder, pipeline.name, aws, shipment.bucket, say)
    if not shipment.target.translate_locally:
        return template
    from ..translate import translate

    translated = emulator.dependency_order(translate(template, pipeline.region))
    say(f"translated the SAM template here: {len(translated['Resources'])} CloudFormation resources")
    return for_moto(translated, aws) if shipment.target.emulator else translated


def plan(shipment: Shipment, template: dict, parameters: dict[str, str], say):
    """Create the change set and print its diff; (change set, changes), or None if nothing changes."""
    aws, name = shipment.target.aws, shipment.pipeline.name
    kind = cfn.change_set_kind(describe_stack(aws.cloudformation, name), name)
    source = artifacts.template_source(aws, json.dumps(template), shipment.bucket, name, say)
    say(f"creating a change set ({kind}) for stack {name} in {aws.where()}")
    change_set = cfn.create_change_set(aws.cloudformation, name, source, kind, f"ncap deploy of {name}",
                                       stack_tags(shipment.pipeline.config), parameters)
    described = cfn.wait_change_set(aws.cloudformation, change_set, shipment.poll) if change_set else None
    if change_set is None or described is None:
        if change_set:
            cfn.delete_change_set(aws.cloudformation, change_set)
        say(f"no changes: stack {name} already runs this template")
        return None
    changes = cfn.all_changes(aws.cloudformation, change_set, described)
    pipeline = shipment.pipeline
    nested = nested_changes(aws.cloudformation, name, pipeline.template, pipeline.folder, changes) \
        if kind == "UPDATE" else {}
    labs = {names.lab_stack(a.name): a.name for a in pipeline.config.affiliates}
    for line in diff.render(changes, name, kind, change_set.name, nested, labs):
        say(line)
    return change_set, changes


def show_diff(options: ShipOptions, say) -> list[dict]:
    """Print what a deployment would change; the changes (nothing is deployed)."""
    shipment = prepare(options, say)
    account_check(shipment, options, say, stop=False)
    planned = plan(shipment, stack_template(shipment, say), worker_parameters(shipment, say), say)
    if not planned:
        return []
    cfn.delete_change_set(shipment.target.aws.cloudformation, planned[0])
    say(f"deleted change set {planned[0].name}: nothing was deployed")
    return planned[1]


def deploy(options: ShipOptions, say) -> Deployed:
    require_answerable(options.yes, "ncap deploy")
    shipment = prepare(options, say)
    account_check(shipment, options, say, stop=True)
    template, parameters = stack_template(shipment, say), worker_parameters(shipment, say)
    aws, name = shipment.target.aws, shipment.pipeline.name
    before = emulator.snapshot(aws, name) if shipment.target.emulator else None
    planned = plan(shipment, template, parameters, say)
    if planned is None:
        stack = describe_stack(aws.cloudformation, name) or {}
        return Deployed(name, stack.get("StackStatus", ""), 0, outputs(stack))
    change_set, changes = planned
    if not confirm(f"Deploy these {len(changes)} changes to stack {name}?", options.yes):
        cfn.delete_change_set(aws.cloudformation, change_set)
        raise NcapError(f"cancelled: change set {change_set.name} deleted, nothing was deployed")
    settled = execute(shipment, change_set, len(changes), say)
    if before is not None:
        say(emulator.complete(before, template, aws, change_set.stack_id, shipment.pipeline.template_path).summary())
    print_outputs(settled.stack, say)
    return Deployed(name, settled.status, len(changes), outputs(settled.stack))


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
    stack = describe_stack(shipment.target.aws.cloudformation, change_set.stack_id) or {}
    status = stack.get("StackStatus", "gone")
    if shipment.target.endpoint:
        return (f"the emulator does not roll back: stack {shipment.pipeline.name} is left {status}; "
                f"`ncap delete` removes it")
    return f"nothing was changed (stack {status})"


def print_outputs(stack: dict, say) -> None:
    found = outputs(stack)
    if not found:
        say("the stack reports no outputs (an emulator fills none for stacks made by a change set); "
            "`ncap credentials` finds the lab secrets by name")
        return
    say("outputs:")
    for key, value in sorted(found.items()):
        say(f"  {key} = {value}")
