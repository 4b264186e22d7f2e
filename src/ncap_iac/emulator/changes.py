"""Finishing a stack change on the emulator as CloudFormation would. The emulator's CloudFormation
makes, changes and removes most resources of a change by itself, but answers no custom resource
and skips some resource types. After it has applied a change (a new stack, or a change set),
`complete` walks the change in dependency order: each custom resource gets its Create, Update or
Delete from the real handler, and each skipped resource is made, changed or removed through the
regular APIs; removals go last, in reverse dependency order, as in CloudFormation's clean-up."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NcapError
from . import custom_resources
from .context import StackContext, live_context, types_of
from .custom_resources import Request, is_custom
from .intrinsics import resolve
from .provisioners import COMPLETERS, NOT_APPLIED, PROVISIONERS


@dataclass(frozen=True)
class Snapshot:
    """A stack as it was before a change: its (translated) template and physical ids."""

    template: dict = field(default_factory=dict)
    physical_ids: dict = field(default_factory=dict)

    @property
    def resources(self) -> dict:
        return self.template.get("Resources", {})


@dataclass
class Completed:
    """What `complete` did, for one line of output."""

    answered: list = field(default_factory=list)  # "Logical Kind" of each custom-resource request
    provisioned: int = 0  # skipped resources made or changed
    removed: int = 0  # skipped resources removed
    notes: list = field(default_factory=list)  # differences from AWS worth saying

    def summary(self) -> str:
        return (f"emulator: ran the handlers of {len(self.answered)} custom resource requests "
                f"({', '.join(self.answered) or 'none'}); made or updated {self.provisioned} and removed "
                f"{self.removed} resources its CloudFormation skips")


def snapshot(aws: Any, stack_name: str) -> Snapshot:
    from ..aws.stacks import deployed_template, stack_resources

    return Snapshot(deployed_template(aws.cloudformation, stack_name),
                    stack_resources(aws.cloudformation, stack_name))


def plan(old: dict, new: dict) -> dict:
    return {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new)),
            "modified": sorted(n for n in set(new) & set(old) if new[n] != old[n])}


@dataclass(frozen=True)
class _Change:
    aws: Any
    stack_id: str
    sam_template: Path  # the compiled SAM template: where each function's handler is found
    before: Snapshot
    after: dict
    context: StackContext  # the stack now
    old_context: StackContext  # the stack before: old properties, removed resources


def complete(before: Snapshot, after: dict, aws: Any, stack_id: str, sam_template: Path) -> Completed:
    """Finish a change the emulator has applied (`before` is an empty Snapshot for a new stack)."""
    context = live_context(aws, stack_id, after)
    old_context = context.with_resources(before.physical_ids, types_of(before.template))
    old_context.physical_ids.update(made_before(before.template, old_context, aws))
    context.physical_ids.update(made_before(after, context, aws))
    change = _Change(aws, stack_id, sam_template, before, after, context, old_context)
    steps, done = plan(before.resources, after["Resources"]), Completed()
    for name in dependency_order(after)["Resources"]:
        if name in steps["added"]:
            _make(change, name, done)
        elif name in steps["modified"]:
            _change(change, name, done)
    for name in reversed(list(dependency_order(before.template)["Resources"]) if before.template else []):
        if name in steps["removed"]:
            _remove(change, name, before.resources[name], change.old_context, done)
    return done


def _make(change: _Change, name: str, done: Completed) -> None:
    resource = change.after["Resources"][name]
    if is_custom(resource):
        done.answered.append(custom_resources.send(Request("Create", name, resource, change.context),
                                                   change.aws, change.stack_id, change.sam_template))
        return
    provisioner = PROVISIONERS.get(resource["Type"]) or COMPLETERS.get(resource["Type"])
    if provisioner:
        physical = provisioner.create(name, _properties(resource, change.context), change.aws,
                                      change.context.stack_name)
        _record(change, name, physical, done, counted=resource["Type"] in PROVISIONERS)


def _change(change: _Change, name: str, done: Completed) -> None:
    resource, old = change.after["Resources"][name], change.before.resources[name]
    if is_custom(resource):
        request = Request("Update", name, resource, change.context, change.old_context.physical_ids.get(name),
                          old, change.old_context)
        done.answered.append(custom_resources.send(request, change.aws, change.stack_id, change.sam_template))
        return
    provisioner = PROVISIONERS.get(resource["Type"]) or COMPLETERS.get(resource["Type"])
    if provisioner:
        physical = provisioner.apply_update(name, _properties(old, change.old_context),
                                            _properties(resource, change.context), change.aws,
                                            change.context.stack_name)
        _record(change, name, physical, done, counted=resource["Type"] in PROVISIONERS)


def _remove(change: _Change, name: str, resource: dict, context: StackContext, done: Completed) -> None:
    if is_custom(resource):
        request = Request("Delete", name, resource, context, context.physical_ids.get(name))
        done.answered.append(custom_resources.send(request, change.aws, change.stack_id, change.sam_template))
        return
    provisioner = PROVISIONERS.get(resource["Type"])
    if provisioner and provisioner.delete:
        provisioner.delete(name, _properties(resource, context), change.aws, context.stack_name)
        done.removed += 1


def made_before(template: dict, context: StackContext, aws: Any) -> dict:
    """Physical ids of the skipped resources that exist already (the emulator lists none of
    them): found by the names their provisioners gave them."""
    found = {}
    for name, resource in template.get("Resources", {}).items():
        provisioner = PROVISIONERS.get(resource["Type"])
        if provisioner is None or provisioner.find is None or name in context.physical_ids:
            continue
        try:
            physical = provisioner.find(name, _properties(resource, context), aws, context.stack_name)
        except NcapError:  # it refers to something that does not exist (yet): not made before
            continue
        if physical:
            found[name] = physical
    return found


def _properties(resource: dict, context: StackContext) -> dict:
    return resolve(resource.get("Properties", {}), context)


def _record(change: _Change, name: str, physical: str, done: Completed, counted: bool) -> None:
    change.context.physical_ids[name] = physical
    if physical.startswith(NOT_APPLIED):
        done.notes.append(f"{name} statement(s) {physical[len(NOT_APPLIED):]} {NOT_APPLIED.strip(': ')}")
    done.provisioned += counted


def remove_all(template: dict, aws: Any, stack_id: str, sam_template: Path) -> Completed:
    """Before the emulator deletes a stack: every custom resource's Delete and every skipped
    resource's removal, last made first."""
    before = snapshot(aws, stack_id)
    before = Snapshot(template, before.physical_ids)
    return complete(before, {"Resources": {}}, aws, stack_id, sam_template)


# --- dependency order -----------------------------------------------------------------------

def dependency_order(template: dict) -> dict:
    """The template with its resources listed dependencies first (a stable, sorted order
    otherwise). moto applies a change set's additions in template order, so a function would
    otherwise be made before its log group."""
    resources, ordered = template.get("Resources", {}), {}

    def visit(name: str, trail: tuple) -> None:
        if name in ordered or name in trail or name not in resources:
            return
        for needed in sorted(references(resources[name]) | set(_depends_on(resources[name]))):
            visit(needed, trail + (name,))
        ordered[name] = resources[name]

    for name in sorted(resources):
        visit(name, ())
    return {**template, "Resources": ordered}


def _depends_on(resource: dict) -> list:
    value = resource.get("DependsOn", [])
    return [value] if isinstance(value, str) else list(value)


def references(value: Any) -> set:
    """The logical ids a value refers to (Ref, Fn::GetAtt, ${...} in Fn::Sub)."""
    if isinstance(value, list):
        return set().union(*(references(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found: set = set()
    for key, argument in value.items():
        if key == "Ref" and isinstance(argument, str):
            found.add(argument)
        elif key == "Fn::GetAtt":
            found.add(argument.split(".")[0] if isinstance(argument, str) else argument[0])
        elif key == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!][^}]*)\}", text)}
        found |= references(argument)
    return found
