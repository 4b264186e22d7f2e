"""Finishing a stack change on the emulator as CloudFormation would. The emulator's CloudFormation
makes, changes and removes most resources of a change by itself, but answers no custom resource
and skips some resource types. After it has applied a change (a new stack, or a change set),
`complete` walks the change in dependency order: each custom resource gets its Create, Update or
Delete from the real handler, and each skipped resource is made, changed or removed through the
regular APIs; removals go last, in reverse dependency order, as in CloudFormation's clean-up."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NcapError
from . import custom_resources, records
from .context import StackContext, live_context, stack_parameters, types_of
from .custom_resources import FunctionSettings, Request, is_custom
from .intrinsics import resolve
from .order import dependency_order
from .provisioners import COMPLETERS, PROVISIONERS

NESTED_STACK = "AWS::CloudFormation::Stack"
KEPT = ("Retain", "RetainExceptOnCreate")  # DeletionPolicy values that keep a resource a change removes


@dataclass(frozen=True)
class Snapshot:
    """A stack as it was before a change: its (translated) template and physical ids."""

    template: dict = field(default_factory=dict)
    physical_ids: dict = field(default_factory=dict)
    children: dict = field(default_factory=dict)  # logical id of a nested stack -> its Snapshot

    @property
    def resources(self) -> dict:
        return self.template.get("Resources", {})


@dataclass
class Completed:
    """What `complete` did, for one line of output."""

    answered: list = field(default_factory=list)  # "Logical Kind" of each custom-resource request
    provisioned: int = 0  # skipped resources made or changed
    removed: int = 0  # skipped resources removed

    def summary(self) -> str:
        return (f"emulator: ran the handlers of {len(self.answered)} custom resource requests "
                f"({', '.join(self.answered) or 'none'}); made or updated {self.provisioned} and removed "
                f"{self.removed} resources its CloudFormation skips")


def snapshot(aws: Any, stack_name: str) -> Snapshot:
    """The stack as it is now, nested stacks included."""
    from ..aws.stacks import deployed_template, stack_resources

    template = deployed_template(aws.cloudformation, stack_name)
    physical = {**stack_resources(aws.cloudformation, stack_name), **stack_parameters(aws, stack_name)}
    children = {name: snapshot(aws, physical[name]) for name, resource in template.get("Resources", {}).items()
                if resource.get("Type") == NESTED_STACK and physical.get(name)}
    return Snapshot(template, physical, children)


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
    recorded: dict  # the physical ids custom resources answered
    as_function: FunctionSettings | None = None  # the AWS settings a handler runs with (None: `aws`'s)


def complete(before: Snapshot, after: dict, aws: Any, stack_id: str, sam_template: Path,
             as_function: FunctionSettings | None = None) -> Completed:
    """Finish a change the emulator has applied (`before` is an empty Snapshot for a new stack).
    `as_function(name)` gives the AWS settings the handler of function `name` runs with (its own
    role's credentials, as Lambda gives them); without it handlers run as `aws`."""
    context = live_context(aws, stack_id, after)
    old_context = context.with_resources(before.physical_ids, types_of(before.template))
    old_context.physical_ids.update(made_before(before.template, old_context, aws))
    context.physical_ids.update(made_before(after, context, aws))
    # a resource the change keeps keeps its physical id (one the emulator lists no id for, too)
    context.physical_ids.update({k: v for k, v in before.physical_ids.items()
                                 if k in after.get("Resources", {}) and k not in context.physical_ids})
    recorded = records.load(aws, stack_id)
    context.physical_ids.update({k: v for k, v in recorded.items() if k in after.get("Resources", {})})
    old_context.physical_ids.update({k: v for k, v in recorded.items() if k in before.resources})
    change = _Change(aws, stack_id, sam_template, before, after, context, old_context, dict(recorded),
                     as_function)
    steps, done = plan(before.resources, after["Resources"]), Completed()
    for name in dependency_order(after)["Resources"]:
        if name in steps["added"]:
            _make(change, name, done)
        elif name in steps["modified"]:
            _change(change, name, done)
    for name in reversed(list(dependency_order(before.template)["Resources"]) if before.template else []):
        if name in steps["removed"]:
            _remove(change, name, before.resources[name], change.old_context, done)
    if change.recorded != recorded:
        records.save(aws, stack_id, change.recorded)
    return done


def _make(change: _Change, name: str, done: Completed) -> None:
    resource = change.after["Resources"][name]
    if resource["Type"] == NESTED_STACK:
        _nested(change, Snapshot(), name, done)
        return
    if is_custom(resource):
        _answer(change, Request("Create", name, resource, change.context), done)
        return
    provisioner = PROVISIONERS.get(resource["Type"]) or COMPLETERS.get(resource["Type"])
    if provisioner:
        physical = provisioner.create(name, _properties(resource, change.context), change.aws,
                                      change.context.stack_name)
        _record(change, name, physical, done, counted=resource["Type"] in PROVISIONERS)


def _change(change: _Change, name: str, done: Completed) -> None:
    resource, old = change.after["Resources"][name], change.before.resources[name]
    if resource["Type"] == NESTED_STACK:  # the change from the nested stack before to the one now
        _nested(change, change.before.children.get(name, Snapshot()), name, done)
        return
    if is_custom(resource):
        request = Request("Update", name, resource, change.context, change.old_context.physical_ids.get(name),
                          old, change.old_context)
        _answer(change, request, done)
        return
    provisioner = PROVISIONERS.get(resource["Type"]) or COMPLETERS.get(resource["Type"])
    if provisioner:
        physical = provisioner.apply_update(name, _properties(old, change.old_context),
                                            _properties(resource, change.context), change.aws,
                                            change.context.stack_name)
        _record(change, name, physical, done, counted=resource["Type"] in PROVISIONERS)


def _remove(change: _Change, name: str, resource: dict, context: StackContext, done: Completed) -> None:
    if resource.get("DeletionPolicy") in KEPT:
        return
    if resource["Type"] == NESTED_STACK:
        if name in change.before.children:
            _add(done, complete(change.before.children[name], {"Resources": {}}, change.aws,
                                context.physical_ids[name], change.sam_template))
        return
    if is_custom(resource):
        request = Request("Delete", name, resource, context, context.physical_ids.get(name))
        _answer(change, request, done)
        return
    provisioner = PROVISIONERS.get(resource["Type"])
    if provisioner and provisioner.delete:
        provisioner.delete(name, _properties(resource, context), change.aws, context.stack_name)
        done.removed += 1


def _nested(change: _Change, before: Snapshot, name: str, done: Completed) -> None:
    """Finish the nested stack the emulator made (or, for a changed one, made anew) for `name`: the
    change from `before` to its template now, as CloudFormation would update it in place (the
    emulator reads TemplateURL from its S3, and replaces a nested stack whose template changed)."""
    from ..aws.stacks import deployed_template

    child = change.context.physical_ids[name]
    _add(done, complete(before, deployed_template(change.aws.cloudformation, child), change.aws, child,
                        change.sam_template, change.as_function))


def _add(done: Completed, more: Completed) -> None:
    done.answered += more.answered
    done.provisioned += more.provisioned
    done.removed += more.removed


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


def _answer(change: _Change, request: Request, done: Completed) -> None:
    """Send one custom-resource request; keep the physical id it answered (moto forgets it)."""
    physical = custom_resources.send(request, change.aws, change.stack_id, change.sam_template, change.as_function)
    done.answered.append(f"{request.logical_id} {request.kind}")
    if request.kind == "Delete":
        change.recorded.pop(request.logical_id, None)
    else:
        change.context.physical_ids[request.logical_id] = change.recorded[request.logical_id] = physical


def _properties(resource: dict, context: StackContext) -> dict:
    return resolve(resource.get("Properties", {}), context)


def _record(change: _Change, name: str, physical: str, done: Completed, counted: bool) -> None:
    change.context.physical_ids[name] = physical
    done.provisioned += counted


def remove_all(template: dict, aws: Any, stack_id: str, sam_template: Path) -> Completed:
    """Before the emulator deletes a stack: every custom resource's Delete and every skipped
    resource's removal, last made first."""
    now = snapshot(aws, stack_id)
    return complete(Snapshot(template, now.physical_ids, now.children), {"Resources": {}}, aws, stack_id, sam_template)
