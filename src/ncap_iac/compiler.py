"""load -> build -> check limits -> serialise -> write: what `ncap compile` does."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .config import load
from .config.directory import DirectoryConfig, is_directory, load_directory
from .config.load import read_document
from .config.model import StackConfig
from .errors import NcapError
from .lambda_code import CODE_FOLDER, copy_beside, copy_post_beside
from .names import PIPELINE_TAG
from .template.build import Templates, build_templates, to_json
from .template.directory import DIRECTORY_TAG, build_directory_template
from .template.limits import check_limits, deployed_resource_count

TEMPLATE_NAME = "compiled_template.json"
LABS_FOLDER = "labs"  # names.lab_template puts each lab's nested template here
SAMCONFIG_NAME = "samconfig.toml"
CAPABILITIES = ("CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")


@dataclass(frozen=True)
class Compiled:
    config: StackConfig
    template: dict  # the parent (or only) template
    body: str
    children: dict = field(default_factory=dict)  # relative path -> each lab's nested template
    child_bodies: dict = field(default_factory=dict)

    @property
    def resource_count(self) -> int:
        """Resources of the parent (or only) template, after the SAM transform."""
        return deployed_resource_count(self.template)

    @property
    def nested(self) -> bool:
        return bool(self.children)

    def largest(self) -> tuple[int, int]:
        """(resources, bytes) of the largest template, parent or child."""
        bodies = {"": self.body, **self.child_bodies}
        templates = {"": self.template, **self.children}
        return (max(deployed_resource_count(t) for t in templates.values()),
                max(len(b.encode("utf-8")) for b in bodies.values()))


def compile_config(config: StackConfig, template_dir: Path) -> Compiled:
    """The templates of a config, to be written into `template_dir` (nothing is written here)."""
    templates: Templates = build_templates(config, submit_code_uri(config, template_dir))
    body = to_json(templates.parent)
    what = "the parent template (one nested stack per lab)" if templates.nested else "the template"
    check_limits(templates.parent, body, what)
    child_bodies = {path: to_json(child) for path, child in templates.children.items()}
    for path, child in templates.children.items():
        check_limits(child, child_bodies[path], f"the nested template {path}")
    return Compiled(config, templates.parent, body, templates.children, child_bodies)


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
    write_code(target.parent, config)
    write_children(target.parent, compiled)
    _write(target, compiled.body)
    _write(target.parent / SAMCONFIG_NAME, samconfig(config, target.name))
    return compiled, target


PORTAL_FILES = ("index.html", "app.js", "yaml.js", "app.css")
PORTAL_SITE = "portal_site"  # the portal's built files, in the directory function's code folder


def portal_build() -> str:
    """A digest of the portal's built files (a new build makes the stack write them again)."""
    import hashlib
    from importlib import resources

    digest = hashlib.sha256()
    for name in PORTAL_FILES:
        digest.update(resources.files("ncap_iac.portal").joinpath(name).read_bytes())
    return digest.hexdigest()[:16]


def write_portal_site(template_dir: Path) -> None:
    """The portal's built files beside the directory function's code, for it to write into the
    portal's bucket."""
    from importlib import resources

    site = template_dir / CODE_FOLDER / PORTAL_SITE
    site.mkdir(parents=True, exist_ok=True)
    for name in PORTAL_FILES:
        (site / name).write_bytes(resources.files("ncap_iac.portal").joinpath(name).read_bytes())


def compile_directory(config: DirectoryConfig) -> tuple[dict, str]:
    """A directory's template and its text, checked against CloudFormation's limits."""
    template = build_directory_template(config, portal_build())
    body = to_json(template)
    check_limits(template, body, "the directory's template")
    return template, body


def compile_directory_file(config_path: str | Path, out: str | Path | None = None) -> tuple[dict, Path]:
    """Compile a directory's stack_config.json: its template, the Lambda code and a samconfig.toml."""
    config_path = Path(config_path)
    config = load_directory(config_path)
    target = template_path(config_path, out)
    template, body = compile_directory(config)
    write_code(target.parent)
    write_portal_site(target.parent)
    _write(target, body)
    _write(target.parent / SAMCONFIG_NAME, _samconfig(config.name, config.region, target.name,
                                                       {DIRECTORY_TAG: config.name}))
    return template, target


def is_directory_file(config_path: str | Path) -> bool:
    """True when the file is a directory's config (DirectoryName), not a pipeline's."""
    try:
        return is_directory(read_document(Path(config_path)))
    except NcapError:
        return False


def stack_tags(config: StackConfig) -> dict[str, str]:
    """Tags of the pipeline's stack, which CloudFormation passes on to every resource that takes
    tags (nested stacks included): the pipeline's name (what cost reports and budgets filter on)
    and, when the config gives one, its PipelineVersion."""
    tags = {PIPELINE_TAG: config.pipeline_name}
    if config.pipeline_version:
        tags["PipelineVersion"] = config.pipeline_version
    return tags


def samconfig(config: StackConfig, template_file: str) -> str:
    return _samconfig(config.pipeline_name, config.region, template_file, stack_tags(config))


def _samconfig(stack: str, region: str, template_file: str, tags: dict[str, str]) -> str:
    return "\n".join([
        "# Written by `ncap compile`: lets `sam build` and `sam deploy --guided` run from this folder.",
        "version = 0.1",
        "",
        "[default.global.parameters]",
        f'stack_name = "{stack}"',
        f'region = "{region}"',
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
        "tags = " + json.dumps(" ".join(f'{k}="{v}"' for k, v in tags.items())),
        "resolve_s3 = true",
        "",
    ])


def write_children(template_dir: Path, compiled: Compiled) -> None:
    """Each lab's nested template beside the parent; nested templates of labs no longer in the
    config are removed (a stale one would be uploaded by `sam package` for nothing)."""
    for path, body in compiled.child_bodies.items():
        _write(template_dir / path, body)
    folder = template_dir / LABS_FOLDER
    if folder.is_dir():
        for stale in folder.glob("*.json"):
            if f"{LABS_FOLDER}/{stale.name}" not in compiled.child_bodies:
                stale.unlink()


def write_code(template_dir: Path, config: StackConfig | None = None) -> Path:
    """The product's Lambda code, copied beside a template written to `template_dir`; and the
    config's post-processing function, with the product's wrapper added (lambda_code.POST_FOLDER)."""
    try:
        if config is not None and config.post is not None:
            copy_post_beside(template_dir, config.post.code_uri, config.requirements)
        return copy_beside(template_dir)
    except OSError as exc:
        raise NcapError(f"{template_dir}: cannot write the Lambda code: {exc.strerror}") from None


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise NcapError(f"{path}: cannot write: {exc.strerror}") from None
