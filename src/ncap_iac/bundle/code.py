"""The pipeline's analysis code as its instances get it: the folder's files in a stored zip, named
as the folder sits beside the config (e.g. analysis/run.py), under `ncap/code/SHA256.zip` in the
artifact bucket. The compiler names the key from the files alone, so that changing one of them
changes the launch template; packaging writes the same bytes."""
from __future__ import annotations

from pathlib import Path

from .archive import folder_entries, save_zip, write_zip

CODE_PREFIX = "ncap/code/"


def code_sha256(folder: Path, under: str) -> str:
    return write_zip(folder_entries(folder, under))


def code_key(sha256: str) -> str:
    return f"{CODE_PREFIX}{sha256}.zip"


def save_code(folder: Path, under: str, target: Path) -> str:
    """Write the archive into `target`; its SHA-256 (the same as code_sha256's)."""
    return save_zip(folder_entries(folder, under), target)
