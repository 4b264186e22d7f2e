"""`ncap init PATH`: a new pipeline folder that validates, compiles, lints and runs its sample on the
local cloud with no edit: a commented stack_config.json (with the schema beside it, for editors),
an analysis/ stub, a sample/ of one data file and a config.json, an image/setup.sh stub for the
workers' image, and a .gitignore that keeps credentials, local state and results out of the lab's
repository. The files travel in the package (files/)."""
from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path

from ..config.schema import SCHEMA_FILE
from ..errors import NcapError

NAME = re.compile(r"^[a-z][a-z0-9-]{1,40}[a-z0-9]$")
RENAMED = {"gitignore": ".gitignore"}


def pipeline_name(folder: Path, given: str | None) -> str:
    """--name, else the folder's name made into a pipeline name (lowercase, digits, hyphens)."""
    name = given or re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", folder.resolve().name.lower())).strip("-")
    if not NAME.match(name):
        raise NcapError(f"{name!r} is not a pipeline name (3 to 42 lowercase letters, digits and hyphens, starting "
                        f"with a letter): give one with --name")
    return name


def init(folder: Path, name: str | None = None) -> list[Path]:
    """Write the new pipeline's files into `folder` (which may exist, empty); the files written."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise NcapError(f"{folder}: exists and is not an empty folder; ncap init writes a new pipeline folder")
    chosen = pipeline_name(folder, name)
    files = resources.files(__package__).joinpath("files")
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for source in _walk(files):
        relative = source.relative_to(Path(str(files)))
        target = folder / RENAMED.get(relative.as_posix(), relative.as_posix())
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        target.write_text(text.replace("@NAME@", chosen) if target.name == "stack_config.json" else text,
                          encoding="utf-8")
        shutil.copymode(source, target)
        written.append(target)
    schema = resources.files("ncap_iac.config").joinpath(SCHEMA_FILE)
    (folder / SCHEMA_FILE).write_text(schema.read_text(encoding="utf-8"), encoding="utf-8")
    return [*written, folder / SCHEMA_FILE]


def _walk(folder) -> list[Path]:
    root = Path(str(folder))
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
