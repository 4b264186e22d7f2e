"""The analysis code each stage's workers run: `Workers.CodeUri` (a folder beside the config), else
the config's `analysis/` folder when there is one. The command runs in a folder that holds it at
the same relative path as beside the config, on AWS and on the local cloud alike."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import Issue
from .document import obj
from .model import CodeFolder
from .stages import stage_entries

DEFAULT_FOLDER = "analysis"


def code_folder(workers: dict, base_dir: Path) -> CodeFolder | None:
    """The folder of a (merged) Workers section, or None when it names none and there is no
    analysis/ beside the config."""
    given = workers.get("CodeUri")
    if isinstance(given, str):
        folder = _resolved(base_dir, given)
        return CodeFolder(folder, _under(folder, base_dir)) if folder is not None and folder.is_dir() else None
    default = base_dir / DEFAULT_FOLDER
    return CodeFolder(default.resolve(), DEFAULT_FOLDER) if default.is_dir() else None


def issues(doc: dict, base_dir: Path) -> list[Issue]:
    """A CodeUri that is not a folder beside the config, at the top level and in each stage."""
    found = _issue(obj(doc.get("Workers")).get("CodeUri"), "Workers.CodeUri", base_dir)
    for position, entry in enumerate(stage_entries(doc)):
        found += _issue(obj(entry.get("Workers")).get("CodeUri"), f"Stages[{position}].Workers.CodeUri", base_dir)
    return found


def _issue(given: Any, path: str, base_dir: Path) -> list[Issue]:
    if not isinstance(given, str) or not given:
        return []  # absent, or the schema's to report
    folder = _resolved(base_dir, given)
    if folder is None:
        return [Issue(path, f"not a usable folder path ({len(given)} characters)")]
    if not folder.is_dir():
        return [Issue(path, f"folder '{given}' not found next to the config ({base_dir})")]
    return []


def _resolved(base_dir: Path, given: str) -> Path | None:
    try:
        return (base_dir / given).resolve()
    except (OSError, ValueError):
        return None


def _under(folder: Path, base_dir: Path) -> str:
    """Where the folder sits beside the config (its own name when it lies outside)."""
    relative = os.path.relpath(folder, base_dir.resolve())
    if relative == ".":
        return ""
    return folder.name if relative.startswith("..") else Path(relative).as_posix()
