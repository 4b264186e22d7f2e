"""`ncap changed`: which pipelines a change touches, for CI. A pipeline changed when a file under
its folder changed since the base; every pipeline changed when shared code did (the Lambda code,
the library that compiles the templates, the project's dependencies)."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import NcapError

SHARED = ("lambda_repo/", "src/", "pyproject.toml")


@dataclass(frozen=True)
class Changes:
    pipelines: list  # folders (relative to the repository) holding a stack_config.json, sorted
    shared: list  # changed shared paths that made every pipeline count as changed
    removed: list  # pipeline folders whose stack_config.json is gone
    root: Path  # the repository's top folder


def git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise NcapError("git is not installed") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise NcapError(f"git {' '.join(args)}: {message}")
    return done.stdout


def changed_files(base: str, root: Path) -> list[str]:
    """Files changed between the merge base of `base` and HEAD (what a pull request changes)."""
    try:
        git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], root)
    except NcapError:
        raise NcapError(f"{base}: no such commit here (a CI checkout needs the history: fetch-depth 0)") from None
    return [line for line in git(["diff", "--name-only", f"{base}...HEAD"], root).splitlines() if line]


def all_pipelines(root: Path, pipelines_dir: str) -> list[str]:
    return sorted(p.parent.relative_to(root).as_posix() for p in (root / pipelines_dir).glob("*/stack_config.json"))


def changes_since(base: str, pipelines_dir: str, cwd: Path) -> Changes:
    root = Path(git(["rev-parse", "--show-toplevel"], cwd).strip())
    folder = (cwd / pipelines_dir).resolve()
    if not folder.is_dir():
        raise NcapError(f"{pipelines_dir}: no such folder")
    prefix = folder.relative_to(root).as_posix().rstrip("/") + "/" if folder != root else ""
    files, existing = changed_files(base, root), all_pipelines(root, str(folder.relative_to(root)))
    shared = sorted({f for f in files if f.startswith(SHARED) or f in SHARED})
    inside = [f[len(prefix):] for f in files if f.startswith(prefix)]
    touched = {prefix + rest.split("/", 1)[0] for rest in inside if "/" in rest}
    removed = sorted(t for t in touched if t not in existing)
    chosen = existing if shared else sorted(t for t in touched if t in existing)
    return Changes(chosen, shared, removed, root)
