"""How the strings of an IAM policy match a request: wildcards, policy variables and condition
operators. Pure (no AWS, no moto); policy.py builds on it.

- Wildcards `*` and `?`: in actions (case-insensitive), in resources and the ARN operators, and in
  StringLike values. An ARN pattern (one that starts with `arn:`) is matched segment by segment: a
  wildcard in the partition, service, region or account segment stays within that segment, one in
  the resource part may span `/` and `:`.
- Policy variables, for documents of version 2012-10-17: `${aws:username}`, `${s3:prefix}`, any key
  of the request's context, with an optional default (`${aws:username, 'nobody'}`), and the escapes
  `${*}`, `${?}`, `${$}` for a literal character. A variable whose key the request lacks, and that
  names no default, makes its pattern match nothing.
- Condition operators: String(Not)Equals(IgnoreCase), String(Not)Like, Arn(Not)Equals, Arn(Not)Like,
  Bool, Null, Numeric*, each with the `...IfExists` suffix and the `ForAnyValue:` and `ForAllValues:`
  prefixes. An operator outside this list is unsupported: `holds` answers None, and the caller
  decides what an unknown answer means.

A request's context maps each condition key, in lower case, to a tuple of its values (one value for
a single-valued key); a key the request does not carry is absent.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Context = Mapping[str, tuple[str, ...]]
Piece = tuple[str, str, str | None]  # ("text", literal, None), ("any"|"one", "", None), ("var", key, default)

_TOKEN = re.compile(r"\$\{([^}]*)\}|\*|\?")
_ESCAPES = ("*", "?", "$")
ARN_SEGMENTS = 6


# --- patterns: wildcards and policy variables -------------------------------------------------

@lru_cache(maxsize=8192)
def _pieces(pattern: str, variables: bool) -> tuple[Piece, ...]:
    """A pattern cut into literal text, wildcards and (when `variables`) policy variables."""
    pieces: list[Piece] = []
    position = 0
    for found in _TOKEN.finditer(pattern):
        if found.start() > position:
            pieces.append(("text", pattern[position:found.start()], None))
        pieces.append(_piece(found, variables))
        position = found.end()
    if position < len(pattern):
        pieces.append(("text", pattern[position:], None))
    return tuple(pieces)


def _piece(found: re.Match, variables: bool) -> Piece:
    token = found.group(0)
    if token == "*":
        return ("any", "", None)
    if token == "?":
        return ("one", "", None)
    inside = found.group(1).strip()
    if not variables:
        return ("text", token, None)
    if inside in _ESCAPES:
        return ("text", inside, None)
    key, _, default = inside.partition(",")
    default = default.strip()
    return ("var", key.strip().lower(), default.strip("'\"") if default else None)


def _resolve(pieces: tuple[Piece, ...], context: Context) -> tuple[Piece, ...] | None:
    """The pieces with each variable replaced by its value as literal text; None when a variable's
    key is missing from the context and has no default."""
    if not any(kind == "var" for kind, _, _ in pieces):
        return pieces
    resolved: list[Piece] = []
    for kind, text, default in pieces:
        if kind == "var":
            values = context.get(text)
            value = values[0] if values else default
            if value is None:
                return None
            resolved.append(("text", value, None))
        else:
            resolved.append((kind, text, default))
    return tuple(resolved)


@lru_cache(maxsize=8192)
def _regex(pieces: tuple[Piece, ...], arn: bool, ignore_case: bool) -> re.Pattern:
    segmented = arn and bool(pieces) and pieces[0][0] == "text" and pieces[0][1].startswith("arn:")
    colons, parts = 0, []
    for kind, text, _ in pieces:
        within = segmented and colons < ARN_SEGMENTS - 1
        if kind == "text":
            parts.append(re.escape(text))
            colons += text.count(":")
        elif kind == "any":
            parts.append("[^:]*" if within else ".*")
        else:
            parts.append("[^:]" if within else ".")
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matches(pattern: str, value: str, context: Context | None = None, *, arn: bool = False,
            ignore_case: bool = False, variables: bool = True) -> bool:
    """Whether `value` matches the wildcard `pattern` (after its policy variables are resolved)."""
    if pattern == "*":
        return True
    pieces = _resolve(_pieces(pattern, variables), context or {})
    return pieces is not None and _regex(pieces, arn, ignore_case).fullmatch(value) is not None


def substitute(pattern: str, context: Context | None = None, variables: bool = True) -> str | None:
    """The pattern with its policy variables resolved and its wildcards as literal characters;
    None when a variable cannot be resolved."""
    pieces = _resolve(_pieces(pattern, variables), context or {})
    if pieces is None:
        return None
    return "".join({"any": "*", "one": "?"}.get(kind, text) for kind, text, _ in pieces)


# --- condition operators ----------------------------------------------------------------------

Compare = Callable[[str, str, Context, bool], bool]


def _string_equals(expected: str, actual: str, context: Context, variables: bool) -> bool:
    return substitute(expected, context, variables) == actual


def _string_equals_ignore_case(expected: str, actual: str, context: Context, variables: bool) -> bool:
    value = substitute(expected, context, variables)
    return value is not None and value.lower() == actual.lower()


def _string_like(expected: str, actual: str, context: Context, variables: bool) -> bool:
    return matches(expected, actual, context, variables=variables)


def _arn_like(expected: str, actual: str, context: Context, variables: bool) -> bool:
    return matches(expected, actual, context, arn=True, variables=variables)


def _bool(expected: str, actual: str, context: Context, variables: bool) -> bool:
    return expected.lower() == actual.lower()


def _numeric(test: Callable[[float, float], bool]) -> Compare:
    def compare(expected: str, actual: str, context: Context, variables: bool) -> bool:
        try:
            return test(float(actual), float(expected))
        except ValueError:
            return False
    return compare


# operator -> (comparison of one policy value with one request value, negated)
OPERATORS: dict[str, tuple[Compare, bool]] = {
    "StringEquals": (_string_equals, False), "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False), "StringNotLike": (_string_like, True),
    "ArnEquals": (_arn_like, False), "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True), "ArnNotLike": (_arn_like, True),
    "Bool": (_bool, False),
    "NumericEquals": (_numeric(lambda a, e: a == e), False), "NumericNotEquals": (_numeric(lambda a, e: a == e), True),
    "NumericLessThan": (_numeric(lambda a, e: a < e), False),
    "NumericLessThanEquals": (_numeric(lambda a, e: a <= e), False),
    "NumericGreaterThan": (_numeric(lambda a, e: a > e), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, e: a >= e), False),
}


@dataclass(frozen=True)
class Condition:
    """One key of one operator of a statement's Condition block."""

    operator: str  # without qualifier and IfExists: "StringLike"
    qualifier: str  # "", "ForAnyValue" or "ForAllValues"
    if_exists: bool
    key: str  # lower case
    values: tuple[str, ...]


def parse_conditions(block: Mapping[str, Mapping[str, Any]]) -> tuple[Condition, ...]:
    """A statement's Condition element as a tuple of conditions, all of which must hold."""
    found = []
    for written, keys in block.items():
        qualifier, _, operator = written.rpartition(":")
        if_exists = operator.endswith("IfExists") and operator != "IfExists"
        operator = operator[: -len("IfExists")] if if_exists else operator
        for key, values in keys.items():
            found.append(Condition(operator, qualifier, if_exists, key.lower(), _strings(values)))
    return tuple(found)


def _strings(values: Any) -> tuple[str, ...]:
    listed = values if isinstance(values, list) else [values]
    return tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in listed)


def holds(condition: Condition, context: Context, variables: bool = True) -> bool | None:
    """Whether the condition holds for the request's context; None for an unsupported operator."""
    actual = context.get(condition.key) or ()
    if condition.operator == "Null":
        return any((not actual) == (v.lower() == "true") for v in condition.values)
    known = OPERATORS.get(condition.operator)
    if known is None or condition.qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return None
    if not actual:
        return _absent(condition, known[1])
    compare, negated = known

    def fits(value: str) -> bool:
        hit = any(compare(expected, value, context, variables) for expected in condition.values)
        return hit != negated

    if condition.qualifier == "ForAllValues" or (not condition.qualifier and negated):
        return all(fits(value) for value in actual)
    return any(fits(value) for value in actual)


def _absent(condition: Condition, negated: bool) -> bool:
    """A condition on a key the request lacks: ForAllValues holds (no value fails), ForAnyValue
    does not (no value fits), IfExists holds, a negated operator holds, any other does not."""
    if condition.qualifier == "ForAllValues":
        return True
    if condition.qualifier == "ForAnyValue":
        return False
    return condition.if_exists or negated
