"""The JSON Schema (single source of truth for shape and defaults) and its errors as Issues."""
from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

from ..errors import Issue
from .conforms import Undecided, conforms

SCHEMA_FILE = "stack_config.schema.json"
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
               float: "number", type(None): "null"}


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(resources.files(__package__).joinpath(SCHEMA_FILE).read_text("utf-8"))


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


def json_path(parts: Iterable[Any]) -> str:
    """Render a path like UXData.Affiliates[1].UserNames[0]; the document itself is '(top level)'."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # only a config with a problem gets here

    choices = list(choices)
    folded = {c.lower(): c for c in choices}
    close = [folded[word.lower()]] if word.lower() in folded else \
        difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def schema_issues(document: Any) -> list[Issue]:
    """Every problem the schema finds. A document the quick check passes has none, and the full
    validator (slow to import) is needed only for one it does not."""
    try:
        if conforms(document, schema()):
            return []
    except Undecided:
        pass
    issues: list[Issue] = []
    for error in _validator().iter_errors(document):
        issues.extend(_issues_from(error))
    return sorted(set(issues), key=lambda i: (i.path, i.message))


def _issues_from(error) -> list[Issue]:
    path = list(error.absolute_path)
    kind, expected, node = error.validator, error.validator_value, error.schema
    if kind == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        return [Issue(json_path(path + [k]), "unknown key" + did_you_mean(k, known)) for k in extra]
    if kind == "required":
        missing = [k for k in expected if k not in error.instance]
        return [Issue(json_path(path + [k]), "required key is missing") for k in missing]
    if kind == "oneOf" and any(e.validator != "type" for e in error.context):
        return [_one_of_issue(error, path)]
    return [Issue(json_path(path), _message(kind, expected, node, error.instance))]


def _one_of_issue(error, path: list) -> Issue:
    """A value that fits none of the shapes a key allows: what the shape of its own type wants."""
    from jsonschema.exceptions import best_match

    closest = best_match(e for e in error.context if e.validator != "type")
    message = _message(closest.validator, closest.validator_value, closest.schema, closest.instance)
    return Issue(json_path(path + list(closest.relative_path)), message)


def _message(kind: str, expected: Any, node: dict, value: Any) -> str:
    shown = json.dumps(value)[:80]
    if kind == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        return f"expected {wanted}, got {json_type(value)} {shown}"
    if kind == "pattern":
        return f"{node.get('x-error', 'does not match ' + expected)} (got {shown})"
    if kind == "enum":
        allowed = ", ".join(json.dumps(e) for e in expected)
        hint = did_you_mean(value, [str(e) for e in expected]) if isinstance(value, str) else ""
        return f"must be one of {allowed} (got {shown}){hint}"
    if kind == "oneOf":
        return f"expected a string or a list of strings, got {json_type(value)} {shown}"
    return _bound_message(kind, expected, value, shown)


def _bound_message(kind: str, expected: Any, value: Any, shown: str) -> str:
    messages = {
        "minimum": f"must be at least {expected} (got {shown})",
        "maximum": f"must be at most {expected} (got {shown})",
        "exclusiveMinimum": f"must be more than {expected} (got {shown})",
        "minLength": "must not be empty" if expected == 1 else f"must be at least {expected} characters",
        "maxLength": f"must be at most {expected} characters (got {len(value) if isinstance(value, str) else '?'})",
        "minItems": f"needs at least {expected} item{'s' if expected != 1 else ''}",
        "maxItems": f"allows at most {expected} items (got {len(value) if isinstance(value, list) else '?'})",
        "uniqueItems": "has duplicate items",
    }
    return messages.get(kind, f"is not valid ({kind})")


def default(*path: str) -> Any:
    """The schema's default for a property, e.g. default('Queue', 'MaxReceiveCount'): the one
    written beside the property's $ref when there is one, else its definition's."""
    node = schema()
    for key in path:
        node = _resolve(node)["properties"][key]
    return node["default"] if "default" in node else _resolve(node).get("default")


def _resolve(node: dict) -> dict:
    ref = node.get("$ref")
    if ref:
        return schema()["$defs"][ref.rsplit("/", 1)[1]]
    return node
