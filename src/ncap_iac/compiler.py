"""load -> build -> check limits -> serialise -> write: what `ncap compile` does."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .config import load
from .config.model import StackConfig
from .errors import NcapError
from .lambda_code import CODE_FOLDER, copy_beside
from .template.build import build_template, to_json
from .template.limits import check_limits, deployed_resource_count

TEMPLATE_NAME = "compiled_template.json"
SAMCONFIG_NAME = "samconfig.toml"
CAPABILITIES = ("CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")


@dataclass(frozen=True)
class Compiled:
    config: StackConfig
    template: dict
    body: str

    @property
    def resource_count(self) -> int:
        return deployed_resource_count(self.template)


def compile_config(config: StackConfig, template_dir: Path) -> Compiled:
    """The template of a config, to be written into `template_dir` (nothing is written here)."""
    template = build_template(config, submit_code_uri(config, template_dir))
    body = to_json(template)
    check_limits(template, body)
    return Compiled(config, template, body)


def submit_code_uri(config: StackConfig, template_dir: Path) -> str:
    """The submit function's CodeUri relative to the template: the product's code folder, or
    the config's own folder."""
    if config.submit.code_uri is None:
        return CODE_FOLDER
    return os.path.relpath(config.submit.code_uri, Path(template_dir).resolve()).replace(os.sep, "/")


def template_path(config_path: Path, out: str | Path | None) -> Path:
    if out is None:
        return config_path.resolve().parent / TEMPLATE_NAME
    as_folder = str(out).endswith(("/", os.sep)) or Path(out).is_dir()
    return (Path(out) / TEMPLATE_NAME if as_folder else Path(out)).resolve()


def compile_file(config_path: str | Path, out: str | Path | None = None) -> tuple[Compiled, Path]:
    """Compile a stack_config.json and write the template and a samconfig.toml beside it."""
    config_path = Path(config_path)
    config = load(config_path)
    target = template_path(config_path, out)
    compiled = compile_config(config, target.parent)
    write_code(target.parent)
    _write(target, compiled.body)
    _write(target.parent / SAMCONFIG_NAME, samconfig(config, target.name))
    return compiled, target


def samconfig(config: StackConfig, template_file: str) -> str:
    return "\n".join([
        "# Written by `ncap compile`: lets `sam build` and `sam deploy --guided` run from this folder.",
        "version = 0.1",
        "",
        "[default.global.parameters]",
        f'stack_name = "{config.pipeline_name}"',
        f'region = "{config.region}"',
        "",
        "[default.build.parameters]",
        f'template_file = "{template_file}"',
        "",
        "[default.validate.parameters]",
        f'template_file = "{template_file}"',
        "",
        "[default.deploy.parameters]",
        f'capabilities = "{" ".join(CAPABILITIES)}"',
        "confirm_changeset = true",
        "resolve_s3 = true",
        "",
    ])


def write_code(template_dir: Path) -> Path:
    """The product's Lambda code, copied beside a template written to `template_dir`."""
    try:
        return copy_beside(template_dir)
    except OSError as exc:
        raise NcapError(f"{template_dir / CODE_FOLDER}: cannot write the Lambda code: {exc.strerror}") from None


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise NcapError(f"{path}: cannot write: {exc.strerror}") from None
