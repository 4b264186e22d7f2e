"""A quick yes/no of a document against the schema, for the keywords the schema uses.

Most configs are valid, and importing a full JSON Schema validator costs more than compiling
the template. `conforms` answers True only when the document certainly conforms; a False (or a
keyword it does not know, which raises Undecided) sends the document to the full validator in
schema.py, which then names every problem. So a wrong False costs time, never a missed problem,
and tests compare the two on every fixture and on generated documents.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

_ANNOTATIONS = frozenset({"description", "default", "x-error", "title", "$schema", "$id", "$defs"})


class Undecided(Exception):
    """The schema uses a keyword this check does not evaluate."""


def conforms(document: Any, root: dict) -> bool:
    return _valid(document, root, root)


def _valid(value: Any, node: dict, root: dict) -> bool:
    for key, expected in node.items():
        if key in _ANNOTATIONS:
            continue
        check = _CHECKS.get(key)
        if check is None:
            raise Undecided(key)
        if not check(value, expected, node, root):
            return False
    return True


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or \
            (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    wanted = {"string": str, "object": dict, "array": list, "boolean": bool, "null": type(None)}.get(name)
    if wanted is None:
        raise Undecided(f"type {name}")
    return isinstance(value, wanted)


def _type(value: Any, expected: Any, node: dict, root: dict) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    return any(_is_type(value, n) for n in names)


def _number(value: Any) -> bool:
    return _is_type(value, "number")


@cache
def _pattern(text: str) -> re.Pattern:
    return re.compile(text)


def _ref(value: Any, expected: str, node: dict, root: dict) -> bool:
    prefix = "#/$defs/"
    if not expected.startswith(prefix):
        raise Undecided(f"$ref {expected}")
    return _valid(value, root["$defs"][expected[len(prefix):]], root)


def _properties(value: Any, expected: dict, node: dict, root: dict) -> bool:
    if not isinstance(value, dict):
        return True
    return all(_valid(value[k], sub, root) for k, sub in expected.items() if k in value)


def _additional(value: Any, expected: Any, node: dict, root: dict) -> bool:
    if not isinstance(value, dict):
        return True
    extra = [k for k in value if k not in node.get("properties", {})]
    if "patternProperties" in node:
        raise Undecided("patternProperties")
    if expected is False:
        return not extra
    if expected is True:
        return True
    return all(_valid(value[k], expected, root) for k in extra)


def _items(value: Any, expected: Any, node: dict, root: dict) -> bool:
    if not isinstance(value, list):
        return True
    if not isinstance(expected, dict):
        raise Undecided("items")
    return all(_valid(item, expected, root) for item in value)


def _enum(value: Any, expected: list, node: dict, root: dict) -> bool:
    if any(not isinstance(e, (str, int, float)) for e in expected) or isinstance(value, (dict, list)):
        raise Undecided("enum")
    return any(_equal(value, e) for e in expected)


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _unique(value: Any, expected: bool, node: dict, root: dict) -> bool:
    if not expected or not isinstance(value, list):
        return True
    if not all(isinstance(item, str) for item in value):
        raise Undecided("uniqueItems of non-strings")
    return len(set(value)) == len(value)


def _one_of(value: Any, expected: list, node: dict, root: dict) -> bool:
    return sum(1 for sub in expected if _valid(value, sub, root)) == 1


_CHECKS: dict[str, Callable[[Any, Any, dict, dict], bool]] = {
    "type": _type,
    "$ref": _ref,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": lambda v, e, n, r: not isinstance(v, dict) or all(k in v for k in e),
    "items": _items,
    "enum": _enum,
    "uniqueItems": _unique,
    "oneOf": _one_of,
    "pattern": lambda v, e, n, r: not isinstance(v, str) or _pattern(e).search(v) is not None,
    "minLength": lambda v, e, n, r: not isinstance(v, str) or len(v) >= e,
    "maxLength": lambda v, e, n, r: not isinstance(v, str) or len(v) <= e,
    "minItems": lambda v, e, n, r: not isinstance(v, list) or len(v) >= e,
    "maxItems": lambda v, e, n, r: not isinstance(v, list) or len(v) <= e,
    "minimum": lambda v, e, n, r: not _number(v) or v >= e,
    "maximum": lambda v, e, n, r: not _number(v) or v <= e,
    "exclusiveMinimum": lambda v, e, n, r: not _number(v) or v > e,
}
