"""A change set as a person reads it: one line per resource (+ add, ~ modify, ! replace,
- remove), a count, and the changes that can lose data or access called out by name."""
from __future__ import annotations

from collections import Counter

SYMBOLS = {"Add": "+", "Modify": "~", "Remove": "-", "Import": ">", "Dynamic": "?"}
# What losing or replacing a resource of these types means for the labs.
AT_STAKE = {
    "AWS::S3::Bucket": "the bucket with every lab's folders and data",
    "AWS::IAM::User": "a lab user: its access keys stop working",
    "Custom::LabMembers": "a lab's members: they leave the lab's group, and a user no other lab lists is "
                          "deleted with its access key",
    "AWS::CloudFormation::Stack": "a lab's nested stack: its group and members go, and a user no other lab "
                                  "lists is deleted with its access key",
    "AWS::SQS::Queue": "a queue: the jobs waiting in it are lost",
}


def replacement(change: dict) -> str:
    """'' | 'replaced' | 'may be replaced' for a Modify (CloudFormation says True/Conditional)."""
    if change.get("Action") != "Modify":
        return ""
    return {"True": "replaced", "Conditional": "may be replaced"}.get(str(change.get("Replacement")), "")


def render(changes: list[dict], stack: str, kind: str, name: str, nested: dict | None = None,
           labs: dict | None = None) -> list[str]:
    """The whole diff as lines of text; `nested`: a modified nested stack's own changes, under it
    (`labs` names the lab each nested stack holds)."""
    if not changes:
        return [f"{name}: no changes to stack {stack}"]
    nested, labs = nested or {}, labs or {}
    width = max(len(c["LogicalResourceId"]) for c in changes)
    lines = [f"Change set {name} ({kind} of stack {stack}): {summary(changes)}"]
    for change in _ordered(changes):
        lines.append(_line(change, width))
        inner = nested.get(change["LogicalResourceId"])
        if inner is not None:
            lines.append(f"      lab {labs.get(change['LogicalResourceId'], change['LogicalResourceId'])}: "
                         f"{summary(inner) or 'no resource changes'}")
            inner_width = max((len(c["LogicalResourceId"]) for c in inner), default=0)
            lines += ["    " + _line(c, inner_width) for c in _ordered(inner)]
    callouts = attention(changes + [c for inner in nested.values() for c in inner])
    if callouts:
        lines += ["Attention:"] + [f"  ! {text}" for text in callouts]
    return lines


def _ordered(changes: list[dict]) -> list[dict]:
    return sorted(changes, key=lambda c: (list(SYMBOLS).index(c.get("Action", "Dynamic"))
                                          if c.get("Action") in SYMBOLS else 9, c["LogicalResourceId"]))


def summary(changes: list[dict]) -> str:
    counts = Counter(c.get("Action", "Dynamic") for c in changes)
    words = {"Add": "to add", "Modify": "to modify", "Remove": "to remove", "Import": "to import",
             "Dynamic": "dynamic"}
    parts = [f"{counts[action]} {words[action]}" for action in words if counts[action]]
    replaced = sum(1 for c in changes if replacement(c) == "replaced")
    conditional = sum(1 for c in changes if replacement(c) == "may be replaced")
    if replaced:
        parts.append(f"{replaced} replaced")
    if conditional:
        parts.append(f"{conditional} may be replaced")
    return ", ".join(parts)


def _line(change: dict, width: int) -> str:
    action, how = change.get("Action", "Dynamic"), replacement(change)
    symbol = "!" if how else SYMBOLS.get(action, "?")
    text = f"  {symbol} {action:<7} {change['LogicalResourceId']:<{width}}  {change.get('ResourceType', '')}"
    details = _changed_properties(change)
    if details:
        text += f"  [{details}]"
    return f"{text}  ({how})" if how else text


def _changed_properties(change: dict) -> str:
    names = []
    for detail in change.get("Details") or []:
        target = detail.get("Target", {})
        name = target.get("Name") or target.get("Attribute")
        if name and name not in names:
            names.append(name + (" (recreates)" if target.get("RequiresRecreation") == "Always" else ""))
    return ", ".join(names)


def attention(changes: list[dict]) -> list[str]:
    """Removals and replacements of the bucket, users and queues, each named."""
    lines = []
    for change in sorted(changes, key=lambda c: c["LogicalResourceId"]):
        stake = AT_STAKE.get(change.get("ResourceType", ""))
        how = "REMOVED" if change.get("Action") == "Remove" else replacement(change).upper()
        if stake and how:
            physical = change.get("PhysicalResourceId")
            label = f"{change['LogicalResourceId']}{' (' + physical + ')' if physical else ''}"
            verb = "may be REPLACED" if how == "MAY BE REPLACED" else f"will be {how}"
            lines.append(f"{label} {verb}: {stake}{_bucket_note(change, how)}")
    return lines


def _bucket_note(change: dict, how: str) -> str:
    if change.get("ResourceType") != "AWS::S3::Bucket":
        return ""
    if how == "REMOVED":
        return " (kept with its data if its DeletionPolicy is Retain, else deleted)"
    return " (a new, empty bucket is made; the old one keeps the data only if its policy is Retain)"
