"""The local cloud's state folder: local.json (what clients need) and pids.json (what to stop)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .. import names
from ..errors import NcapError

STATE_FOLDER = Path(names.LOCAL_STATE_FOLDER)  # inside the pipeline folder


def state_dir(pipeline_dir: Path, given: str | Path | None) -> Path:
    """--state-dir, else the pipeline folder's .ncap/local: found wherever a command is run."""
    return Path(given) if given else Path(pipeline_dir) / STATE_FOLDER


def write_private(path: Path, document: dict) -> None:
    """Write JSON atomically, readable by its owner only."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)


def read(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NcapError(f"{path}: not found: is the local cloud running? "
                        f"(ncap local up {what or 'PIPELINE_DIR'})") from None
    except (OSError, ValueError) as exc:
        raise NcapError(f"{path}: unreadable: {exc}") from None


def running_cloud(stack_name: str, pipeline_dir: Path, given: str | Path | None = None) -> dict | None:
    """local.json of the local cloud of `stack_name` that runs now, from `given` or the pipeline
    folder's state folder; None when none runs there. A running cloud's unusable local.json is an
    error."""
    folder = state_dir(pipeline_dir, given)
    try:
        pids = json.loads((folder / "pids.json").read_text(encoding="utf-8"))
        info = json.loads((folder / "local.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    up = pids.get("up") if isinstance(pids, dict) else None
    if not (isinstance(up, int) and alive(up) and is_local_up(up)):
        return None
    if not isinstance(info, dict) or info.get("stack_name") != stack_name:
        return None
    if not _usable(info):
        raise NcapError(f"{folder / 'local.json'}: not what this version of ncap writes; restart the "
                        f"local cloud (ncap local down, then ncap local up)")
    return info


def _usable(info: dict) -> bool:
    admin, functions = info.get("admin"), info.get("functions")
    return (all(isinstance(info.get(k), str) for k in ("endpoint_url", "region"))
            and isinstance(admin, dict)
            and all(isinstance(admin.get(k), str) for k in ("access_key_id", "secret_access_key"))
            and isinstance(functions, dict)
            and all(isinstance(variables, dict) for variables in functions.values()))


def is_local_up(pid: int) -> bool:
    """True unless /proc says `pid` is not an `ncap local up` (a pid may be reused)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return True
    return "local" in args and "up" in args


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (exited, not yet reaped by its parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: trust the signal test
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
