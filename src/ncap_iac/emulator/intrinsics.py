"""CloudFormation's intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Base64,
Fn::GetAZs, Fn::Select) resolved against a stack's context: for the resources the emulator package
makes itself, custom-resource properties, function environments and simulated events."""
from __future__ import annotations

import base64
import re

from .context import StackContext

_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]+)\}")


def resolve(value, context: StackContext):
    if isinstance(value, list):
        return [resolve(v, context) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, argument), = value.items()
        function = _FUNCTIONS.get(key)
        if function:
            return function(argument, context)
    return {k: resolve(v, context) for k, v in value.items()}


def _get_att(argument, context: StackContext) -> str:
    name, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
    return context.get_att(name, resolve(attribute, context))


def _sub(argument, context: StackContext) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    values = {k: resolve(v, context) for k, v in variables.items()}

    def replace(match: re.Match) -> str:
        literal, name = match.groups()
        if literal:
            return "${" + name + "}"
        if name in values:
            return str(values[name])
        return context.get_att(*name.split(".", 1)) if "." in name else context.ref(name)

    return _SUB_VARIABLE.sub(replace, text)


def _join(argument, context: StackContext) -> str:
    separator, parts = argument
    return separator.join(str(p) for p in resolve(parts, context))


_FUNCTIONS = {
    "Ref": lambda argument, context: context.ref(argument),
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Base64": lambda argument, context: base64.b64encode(str(resolve(argument, context)).encode()).decode(),
    "Fn::GetAZs": lambda argument, context: [f"{context.region}{z}" for z in "abc"],
    "Fn::Select": lambda argument, context: resolve(argument[1], context)[int(resolve(argument[0], context))],
}
