"""Workers.Image: an image built from the pipeline folder (EC2 Image Builder, template/image.py).
ParentImage defaults to the instance type's default image; each Setup script must be a UTF-8 text
file beside the config; the image is tested on the pipeline's sample/ (sample/STAGE/ for a stage
when there is one), which must hold a data file. Image and AMI do not go together."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Issue
from ..images import default_image
from .budgets import instance_type
from .document import lambda_config, obj
from .model import ImageBuild, SetupScript
from .stages import stage_document, stage_entries

SAMPLE_FOLDER = "sample"


def image_build(workers: dict, base_dir: Path, workers_type: str, stage: str | None) -> ImageBuild | None:
    """The (merged) Workers section's image, for a config that passed issues()."""
    section = workers.get("Image")
    if not isinstance(section, dict):
        return None
    parent = section.get("ParentImage") or "ssm:" + default_image(workers_type).parameter  # type: ignore[union-attr]
    scripts = tuple(SetupScript(name, (base_dir / name).read_text(encoding="utf-8")) for name in setup_names(section))
    return ImageBuild(parent, scripts, section.get("BuildInstanceType", workers_type), sample_folder(base_dir, stage))


def setup_names(section: dict) -> list[str]:
    given = section.get("Setup")
    return [given] if isinstance(given, str) else [s for s in given or [] if isinstance(s, str)]


def sample_folder(base_dir: Path, stage: str | None) -> Path:
    own = base_dir / SAMPLE_FOLDER / stage if stage else None
    return own if own is not None and own.is_dir() else base_dir / SAMPLE_FOLDER


def issues(doc: dict, base_dir: Path) -> list[Issue]:
    found = _issues(doc, "", base_dir, None)
    for position, entry in enumerate(stage_entries(doc)):
        if isinstance(obj(entry.get("Workers")).get("Image"), dict):
            name = entry.get("Name") if isinstance(entry.get("Name"), str) else None
            found += _issues(stage_document(doc, entry), f"Stages[{position}].", base_dir, name)
    return found


def _issues(doc: dict, where: str, base_dir: Path, stage: str | None) -> list[Issue]:
    workers = obj(doc.get("Workers"))
    section = workers.get("Image")
    if not isinstance(section, dict):
        return []
    found = [Issue(f"{where}Workers.AMI", "the image is built from Workers.Image.ParentImage: give the AMI there")
             for ami in (workers.get("AMI", lambda_config(doc).get("AMI")),) if ami is not None]
    if "ParentImage" not in section:
        default = default_image(instance_type(doc))
        if isinstance(default, str):
            found.append(Issue(f"{where}Workers.Image.ParentImage", f"required key is missing: there is no default "
                                                                    f"image for {default}"))
    found += _script_issues(section, f"{where}Workers.Image.Setup", base_dir)
    sample = sample_folder(base_dir, stage)
    if not sample.is_dir() or not [p for p in sample.iterdir() if p.is_file() and p.name != "config.json"]:
        found.append(Issue(f"{where}Workers.Image", f"the new image is tested by running the command on the "
                                                    f"pipeline's sample: make {sample} with a data file in it "
                                                    f"(and config.json, when the command takes a config)"))
    return found


def _script_issues(section: dict, path: str, base_dir: Path) -> list[Issue]:
    given: Any = section.get("Setup")
    names = [(path, given)] if isinstance(given, str) else \
        [(f"{path}[{i}]", name) for i, name in enumerate(given or []) if isinstance(name, str)]
    found = []
    for where, name in names:
        file = base_dir / name
        if not file.is_file():
            found.append(Issue(where, f"file '{name}' not found next to the config ({base_dir})"))
            continue
        try:
            file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            found.append(Issue(where, f"'{name}' is not UTF-8 text"))
    return found
