"""The order in which a stack's resources are made: dependencies first (Ref, Fn::GetAtt, ${...}
in Fn::Sub, DependsOn), otherwise sorted."""
from __future__ import annotations

import re
from typing import Any


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
