"""Stages: each stage's view of the config (its Workers, Queue and Scaling merged over the
top-level sections), and the checks of the stage list itself."""
from __future__ import annotations

from collections.abc import Iterator

from .. import names
from ..errors import Issue
from .document import items, obj

STAGE_SECTIONS = ("Workers", "Queue", "Scaling")
QUEUE_NAME_MAX = 80  # SQS


def stage_entries(doc: dict) -> list[dict]:
    return [obj(entry) for entry in items(doc.get("Stages"))]


def stage_document(doc: dict, entry: dict) -> dict:
    """The config as one stage sees it: the stage's sections merged over the top-level ones."""
    merged = dict(doc)
    for name in STAGE_SECTIONS:
        if isinstance(entry.get(name), dict):
            merged[name] = {**obj(doc.get(name)), **entry[name]}
    return merged


def in_stage(issue: Issue, position: int) -> Issue:
    """An issue found in a stage's view, placed at the stage when it is about a stage section."""
    if issue.path.split(".", 1)[0].split("[", 1)[0] in STAGE_SECTIONS:
        return Issue(f"Stages[{position}].{issue.path}", issue.message)
    return issue


def check_stage_names(doc: dict) -> Iterator[Issue]:
    pipeline = str(doc.get("PipelineName")) if isinstance(doc.get("PipelineName"), str) else ""
    seen: dict[str, str] = {}
    for position, entry in enumerate(stage_entries(doc)):
        name = entry.get("Name")
        if not isinstance(name, str) or not name:
            continue
        key = names.camel(name).lower()
        if key in seen:
            yield Issue(f"Stages[{position}].Name", f"'{name}' is the same stage name as '{seen[key]}' "
                                                    "(names are compared without hyphens and case)")
        seen.setdefault(key, name)
        if name.lower().endswith("-on-demand"):
            yield Issue(f"Stages[{position}].Name", f"'{name}' ends in -on-demand, which names a Spot stage's "
                                                    "on-demand group and queue: choose another name")
        longest = names.queue_name(pipeline, True, dead_letter=True, stage=name)
        if isinstance(obj(stage_document(doc, entry).get("Workers")).get("Spot"), dict):
            longest = max(longest, names.queue_name(pipeline, True, stage=name, on_demand=True), key=len)
        if len(longest) > QUEUE_NAME_MAX:
            yield Issue(f"Stages[{position}].Name", f"'{name}' makes the queue name '{longest}' longer than "
                                                    f"SQS allows ({QUEUE_NAME_MAX}); shorten it or PipelineName")
