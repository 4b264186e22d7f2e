"""What a change set does inside each lab's nested stack. CloudFormation's change set of the parent
says only that a lab's stack is modified; here each such stack's deployed template is compared with
the one just compiled for it (labs/LAB.json), resource by resource: added, removed, and modified
with the properties that differ. Read from the stack itself, this works against AWS and the
emulator alike, and a change to one lab of hundreds shows that lab alone."""
from __future__ import annotations

import json
from pathlib import Path

from ..aws.stacks import deployed_template, stack_resources

STACK = "AWS::CloudFormation::Stack"


def nested_changes(cfn, parent_stack: str, template: dict, folder: Path, changes: list[dict]) -> dict[str, list]:
    """Logical id of each modified nested stack -> its resources' changes (change-set shaped)."""
    modified = [c for c in changes if c.get("ResourceType") == STACK and c.get("Action") == "Modify"]
    if not modified:
        return {}
    physical = stack_resources(cfn, parent_stack)
    found = {}
    for change in modified:
        logical = change["LogicalResourceId"]
        url = template.get("Resources", {}).get(logical, {}).get("Properties", {}).get("TemplateURL")
        stack_id = change.get("PhysicalResourceId") or physical.get(logical)
        if not isinstance(url, str) or not stack_id or not (folder / url).is_file():
            continue
        compiled = json.loads((folder / url).read_text(encoding="utf-8"))
        found[logical] = template_changes(deployed_template(cfn, stack_id), compiled)
    return found


def template_changes(before: dict, after: dict) -> list[dict]:
    """Resource changes from one plain CloudFormation template to another."""
    old, new = before.get("Resources", {}), after.get("Resources", {})
    changes = []
    for logical in sorted(set(old) | set(new)):
        if logical not in old:
            changes.append(_change("Add", logical, new[logical]))
        elif logical not in new:
            changes.append(_change("Remove", logical, old[logical]))
        elif old[logical] != new[logical]:
            change = _change("Modify", logical, new[logical])
            change["Details"] = [{"Target": {"Name": name}} for name in _differing(old[logical], new[logical])]
            changes.append(change)
    return changes


def _change(action: str, logical: str, resource: dict) -> dict:
    return {"Action": action, "LogicalResourceId": logical, "ResourceType": resource.get("Type", "")}


def _differing(old: dict, new: dict) -> list[str]:
    """The properties (and resource attributes such as DependsOn) that differ."""
    before, after = old.get("Properties", {}), new.get("Properties", {})
    names = [name for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]
    names += [key for key in sorted((set(old) | set(new)) - {"Properties", "Type"}) if old.get(key) != new.get(key)]
    return names
