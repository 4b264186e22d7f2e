"""Asking before a change that cannot be taken back, and refusing to hang when nobody can answer."""
from __future__ import annotations

import sys

from ..errors import NcapError


def can_ask() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def require_answerable(yes: bool, what: str) -> None:
    """Fail early, before any work, when a confirmation will be needed and no terminal can give it."""
    if not yes and not can_ask():
        raise NcapError(f"{what} asks for confirmation, but there is no terminal to ask on: "
                        f"pass --yes to go ahead without asking")


def confirm(question: str, yes: bool) -> bool:
    if yes:
        return True
    require_answerable(yes, "this command")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
