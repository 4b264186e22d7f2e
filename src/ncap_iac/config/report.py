"""Warnings and notes as a person reads them: one line per kind, however many labs it concerns
("UserInput, in 20 labs (lab1, lab2, lab3, ...): NCAP marks it not implemented; ignored")."""
from __future__ import annotations

import re

from ..errors import Issue

LAB_PATH = re.compile(r"^UXData\.Affiliates\[\d+\]\.(?P<key>.+)$")
SHOWN_LABS = 3


def grouped(issues: tuple[Issue, ...] | list[Issue], labs: tuple[str, ...] = ()) -> list[str]:
    """One line per (key, message); `labs` names the affiliates by index for the lab keys."""
    kinds: dict[tuple[str, str], list[str]] = {}
    for issue in issues:
        match = LAB_PATH.match(issue.path)
        key = match.group("key") if match else issue.path
        lab = _lab_name(issue.path, labs) if match else ""
        kinds.setdefault((key, issue.message), []).append(lab)
    return [_line(key, message, names) for (key, message), names in kinds.items()]


def _lab_name(path: str, labs: tuple[str, ...]) -> str:
    index = int(path.split("[", 1)[1].split("]", 1)[0])
    return labs[index] if index < len(labs) else f"lab {index}"


def _line(key: str, message: str, labs: list[str]) -> str:
    if not any(labs):
        return f"{key}: {message}"
    shown = ", ".join(labs[:SHOWN_LABS]) + (", ..." if len(labs) > SHOWN_LABS else "")
    where = f"in lab {labs[0]}" if len(labs) == 1 else f"in {len(labs)} labs ({shown})"
    return f"{key}, {where}: {message}"
