"""Deploying to an AWS emulator (moto), which cannot finish a stack by itself (DESIGN.md section 6):
it runs no Lambda code (custom resources never get an answer) and its CloudFormation skips some
resource types. After moto has applied a change set, this module does what CloudFormation would:
it sends each custom resource its Create, Update or Delete by running the real handler in this
process (the answer goes to moto's cfnresponse endpoint), and makes, updates or removes the
skipped resources through the regular APIs (ncap_iac.local.gaps). A stack deletion first sends
the Deletes (they empty a bucket that is not retained), then lets moto remove the rest."""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import DeployError
from . import cfn as cfn_api
from . import skipped

CUSTOM = "Custom::"


@dataclass(frozen=True)
class Snapshot:
    """The stack as it was before a change: its (translated) template and physical ids."""

    template: dict
    physical_ids: dict

    @property
    def resources(self) -> dict:
        return self.template.get("Resources", {})


def snapshot(aws, stack_name: str) -> Snapshot:
    return Snapshot(cfn_api.deployed_template(aws.cloudformation, stack_name),
                    cfn_api.stack_resources(aws.cloudformation, stack_name))


def dependency_order(template: dict) -> dict:
    """The template with its resources listed dependencies first. moto applies a change set's
    additions in template order, so a function would otherwise be made before its log group."""
    resources, ordered = template["Resources"], {}

    def visit(name: str, trail: tuple) -> None:
        if name in ordered or name in trail or name not in resources:
            return
        for needed in sorted(_references(resources[name]) | set(_depends_on(resources[name]))):
            visit(needed, trail + (name,))
        ordered[name] = resources[name]

    for name in sorted(resources):
        visit(name, ())
    return {**template, "Resources": ordered}


def _depends_on(resource: dict) -> list:
    value = resource.get("DependsOn", [])
    return [value] if isinstance(value, str) else list(value)


def _references(value) -> set:
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, argument in value.items():
        if key == "Ref" and isinstance(argument, str):
            found.add(argument)
        elif key == "Fn::GetAtt":
            found.add(argument.split(".")[0] if isinstance(argument, str) else argument[0])
        elif key == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            found |= {name.split(".")[0] for name in _sub_names(text)}
        found |= _references(argument)
    return found


def _sub_names(text: str) -> set:
    import re

    return {m for m in re.findall(r"\$\{([^}!][^}]*)\}", text)}


@dataclass(frozen=True)
class _Change:
    """One stack change on the emulator, and what its custom-resource requests need."""

    aws: object
    stack_id: str
    sam_template: Path  # the compiled SAM template: where each function's handler is found
    before: Snapshot
    context: object  # StackContext of the stack now
    old_context: object  # StackContext of the stack before, for old properties and removed resources


def complete(before: Snapshot, after: dict, aws, stack_id: str, sam_template: Path, say) -> None:
    """Finish a change moto has applied: custom resources, then the resources moto skips."""
    context = stack_context(aws, stack_id, after)
    change = _Change(aws, stack_id, sam_template, before, context, _context_from(before, context))
    plan = _plan(before.resources, after["Resources"])
    answered = [_answer(change, kind, name, after["Resources"][name])
                for kind, names in (("Create", plan["added"]), ("Update", plan["modified"]))
                for name in _custom(after["Resources"], names)]
    answered += [_answer(change, "Delete", name, before.resources[name])
                 for name in _custom(before.resources, plan["removed"])]
    done = skipped.fill(after, plan, context, aws)
    removed = skipped.remove(before.resources, plan["removed"], change.old_context, aws)
    say(f"emulator: ran the handlers of {len(answered)} custom resource requests ({', '.join(answered) or 'none'}); "
        f"made or updated {done} and removed {removed} resources its CloudFormation skips")


def _plan(old: dict, new: dict) -> dict:
    return {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new)),
            "modified": sorted(n for n in set(new) & set(old) if new[n] != old[n])}


def _custom(resources: dict, names) -> list:
    ordered = list(dependency_order({"Resources": resources})["Resources"])
    return [n for n in ordered if n in set(names) and resources[n]["Type"].startswith(CUSTOM)]


def stack_context(aws, stack_id: str, template: dict):
    from ..local.resolve import StackContext

    account = aws.client("sts").get_caller_identity()["Account"]
    physical = {**_named_skipped(template), **cfn_api.stack_resources(aws.cloudformation, stack_id)}
    types = {k: r["Type"] for k, r in template.get("Resources", {}).items()}
    return StackContext(aws.region, account, stack_id.split("/")[1] if "/" in stack_id else stack_id,
                        physical, types)


def _context_from(before: Snapshot, current):
    from ..local.resolve import StackContext

    physical = {**_named_skipped(before.template), **current.physical_ids, **before.physical_ids}
    types = {**current.types, **{k: r["Type"] for k, r in before.resources.items()}}
    return StackContext(current.region, current.account, current.stack_name, physical, types)


def _named_skipped(template: dict) -> dict:
    """Physical ids of skipped resources that are their own names (moto lists none for them)."""
    return {k: r["Properties"]["GroupName"] for k, r in template.get("Resources", {}).items()
            if r["Type"] == "AWS::IAM::Group" and isinstance(r.get("Properties", {}).get("GroupName"), str)}


def _answer(change: _Change, kind: str, name: str, resource: dict) -> str:
    """Run the handler of one custom-resource request; its answer goes to moto's cfnresponse."""
    from ..local.invoke import function_spec, invoke
    from ..local.resolve import resolve

    context = change.old_context if kind == "Delete" else change.context
    token = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    aws, stack_id = change.aws, change.stack_id
    event = {"RequestType": kind, "ServiceToken": context.get_att(token, "Arn"), "StackId": stack_id,
             "ResponseURL": f"{aws.endpoint}/cloudformation_{aws.region}/cfnresponse?stack={stack_id}",
             "RequestId": f"ncap-{kind.lower()}-{name}", "LogicalResourceId": name,
             "ResourceType": resource["Type"], "ResourceProperties": resolve(resource["Properties"], context)}
    if kind != "Create":
        event["PhysicalResourceId"] = change.old_context.physical_ids.get(name) or name
    if kind == "Update":
        event["OldResourceProperties"] = resolve(change.before.resources[name]["Properties"], change.old_context)
    with _endpoint(aws.endpoint):
        outcome = invoke(function_spec(change.sam_template, token, {}), event, aws.region)
    answer = outcome.get("result") if isinstance(outcome.get("result"), dict) else {}
    if answer.get("Status") != "SUCCESS":
        reason = answer.get("Reason") or outcome.get("errorMessage") or "no answer"
        raise DeployError(f"custom resource {name} ({kind}) failed on the emulator: {reason}")
    return f"{name} {kind}"


@contextmanager
def _endpoint(endpoint: str | None):
    """The handlers' own boto3 clients must reach the emulator too, however it was named."""
    saved = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = saved


def send_deletes(template: dict, aws, stack_id: str, sam_template: Path) -> int:
    """Before moto deletes a stack: every custom resource's Delete, last made first."""
    before = Snapshot(template, cfn_api.stack_resources(aws.cloudformation, stack_id))
    context = _context_from(before, stack_context(aws, stack_id, template))
    change = _Change(aws, stack_id, sam_template, before, context, context)
    names = list(reversed(_custom(before.resources, before.resources)))
    for name in names:
        _answer(change, "Delete", name, before.resources[name])
    return len(names)
