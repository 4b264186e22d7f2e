"""Reproducible zips: the same files give the same bytes, so an archive's SHA-256 names it (its key
in the artifact bucket, and what the instance checks after download). Entries are sorted, with a
fixed time and 0644/0755 modes only; a pipeline folder's archive is stored, not deflated, so that
its bytes (and the template that names them) do not depend on this machine's zlib."""
from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIPPED_PARTS = ("__pycache__", ".git", ".ncap", ".venv", ".pytest_cache", ".mypy_cache")
SKIPPED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class Entry:
    name: str  # the path inside the archive, with / separators
    source: Path


def mode_of(path: Path) -> int:
    return 0o755 if os.access(path, os.X_OK) else 0o644


def folder_entries(folder: Path, under: str = "") -> list[Entry]:
    """Every file below `folder`, named `under/relative/path` (caches, VCS folders and compiled
    Python left out; symbolic links followed to files inside or outside alike)."""
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part in SKIPPED_PARTS for part in relative.parts) or path.suffix in SKIPPED_SUFFIXES:
            continue
        if path.is_file():
            found.append(Entry("/".join(filter(None, (under, relative.as_posix()))), path))
    return found


class _Sink:
    """A write-only stream that hashes what is written (and copies it into `copy`, if given).
    Not seekable: zipfile then writes each entry's sizes after its data, the same way every time."""

    def __init__(self, copy=None):
        self.digest, self.copy, self.size = hashlib.sha256(), copy, 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        if self.copy is not None:
            self.copy.write(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        if self.copy is not None:
            self.copy.flush()


def write_zip(entries: Iterable[Entry], target=None, compress: bool = False) -> str:
    """Write the archive of `entries` into the binary stream `target` (or nowhere); its SHA-256."""
    sink = _Sink(target)
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(sink, "w", method) as archive:  # type: ignore[call-overload]
        for entry in sorted(entries, key=lambda e: e.name):
            info = zipfile.ZipInfo(entry.name, FIXED_TIME)
            info.external_attr = mode_of(entry.source) << 16
            info.compress_type = method
            archive.writestr(info, entry.source.read_bytes())
    return sink.digest.hexdigest()


def save_zip(entries: list[Entry], path: Path, compress: bool = False) -> str:
    """Write the archive to `path` (atomically); its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with partial.open("wb") as handle:
        digest = write_zip(entries, handle, compress)
    os.replace(partial, path)
    return digest
