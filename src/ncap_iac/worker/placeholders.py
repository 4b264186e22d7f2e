"""COMMAND -> the argv that runs one job. Values (S3 keys, submit fields) never become shell text.

NCAP's COMMAND has four positional `{}` slots (bucket, dataname, resultpath, configname, in that
order); the named `{bucket} {dataname} {resultpath} {configname}` work too. A COMMAND without shell
syntax is split like a shell would (shlex) and the placeholders are filled inside each argv token,
so no shell runs at all. A COMMAND with shell syntax runs as
`bash -c SCRIPT ncap-job BUCKET DATANAME RESULTPATH CONFIGNAME`, where SCRIPT is COMMAND with every
placeholder turned into a quoted reference to a positional parameter ("${1}".."${4}"): the values
only ever reach bash as parameters, which it never parses as code."""
from __future__ import annotations

import re
import shlex

from ..errors import NcapError

FIELDS = ("bucket", "dataname", "resultpath", "configname")
PLACEHOLDER = re.compile(r"\{(bucket|dataname|resultpath|configname)?\}")
SHELL_SYNTAX = frozenset(";|&$<>`()\n\r")
HUGGED_BY_SINGLE_QUOTES = re.compile(r"''(\"\$\{[1-4]\}\")''")
SCRIPT_NAME = "ncap-job"  # $0 of the bash script


def has_shell_syntax(command: str) -> bool:
    return any(char in SHELL_SYNTAX for char in command)


def positional_count(command: str) -> int:
    return sum(1 for match in PLACEHOLDER.finditer(command) if match.group(1) is None)


def check_template(command: str) -> None:
    """Raise NcapError when COMMAND cannot be turned into an argv."""
    count = positional_count(command)
    if count > len(FIELDS):
        raise NcapError(f"--command: {count} positional {{}} slots; there are only "
                        f"{len(FIELDS)} ({', '.join(FIELDS)})")
    if not has_shell_syntax(command):
        try:
            if not shlex.split(command):
                raise NcapError("--command: no program to run")
        except ValueError as error:
            raise NcapError(f"--command: cannot split it into arguments: {error}") from None


def command_argv(command: str, values: dict) -> list[str]:
    """The argv for one job; `values` maps each of FIELDS to a string."""
    ordered = [values[name] or "" for name in FIELDS]
    if has_shell_syntax(command):
        return ["bash", "-c", shell_script(command), SCRIPT_NAME, *ordered]
    slots = iter(FIELDS)

    def fill(match):
        return values[match.group(1) or next(slots)] or ""

    return [PLACEHOLDER.sub(fill, token) for token in shlex.split(command)]


def shell_script(command: str) -> str:
    """COMMAND with each placeholder replaced by a reference to its positional parameter, quoted
    for the quoting context it stands in (outside quotes, in "...", in '...')."""
    out, state, slot, i = [], None, 0, 0
    while i < len(command):
        match = PLACEHOLDER.match(command, i)
        if match:
            name = match.group(1) or FIELDS[slot]
            slot += match.group(1) is None
            out.append(reference(FIELDS.index(name) + 1, state))
            i = match.end()
        elif command[i] == "\\" and state != "'":
            out.append(command[i:i + 2])
            i += 2
        else:
            state = next_state(state, command[i])
            out.append(command[i])
            i += 1
    return HUGGED_BY_SINGLE_QUOTES.sub(r"\1", "".join(out))


def next_state(state: str | None, char: str) -> str | None:
    """Quoting state after `char`: None (unquoted), "'" or '"'."""
    if state is None and char in "'\"":
        return char
    if state == char:
        return None
    return state


def reference(number: int, state: str | None) -> str:
    if state == '"':
        return f"${{{number}}}"
    if state == "'":
        return f"'\"${{{number}}}\"'"
    return f"\"${{{number}}}\""
