"""What every shipping command starts from: a pipeline folder, compiled afresh, and where to ship
it (region, endpoint, artifact bucket, whether to translate the SAM template here)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..aws.clients import Aws, endpoint_from
from ..config.model import StackConfig
from ..errors import NcapError
from .options import TargetOptions

CONFIG_NAME = "stack_config.json"
BUILD_DIR = Path(".aws-sam") / "build"  # relative to the pipeline folder, as sam uses it
PACKAGED_NAME = Path(".aws-sam") / "packaged.json"
TRANSLATED_NAME = Path(".aws-sam") / "translated.json"


@dataclass(frozen=True)
class Pipeline:
    folder: Path  # absolute
    config: StackConfig
    template_path: Path  # the compiled SAM template, CodeUri relative to it
    template: dict

    @property
    def name(self) -> str:
        return self.config.pipeline_name

    @property
    def region(self) -> str:
        return self.config.region

    def resources(self, kind: str) -> dict:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == kind}


@dataclass(frozen=True)
class Target:
    """Where a pipeline ships to."""

    aws: Aws
    translate_locally: bool  # SAM -> CloudFormation here, and fill the emulator's gaps

    @property
    def endpoint(self) -> str | None:
        return self.aws.endpoint

    @property
    def emulator(self) -> bool:
        """An emulator to finish stacks on: an endpoint, and translation here (off for an emulator
        with the SAM transform and Lambda of its own)."""
        return self.translate_locally and self.endpoint is not None


def config_path(folder: Path) -> Path:
    path = Path(folder) / CONFIG_NAME
    if not Path(folder).is_dir():
        raise NcapError(f"{folder}: no such folder (expected a pipeline folder holding {CONFIG_NAME})")
    if not path.is_file():
        raise NcapError(f"{folder}: not a pipeline folder: it has no {CONFIG_NAME}")
    return path


def load_pipeline(folder: Path, say) -> Pipeline:
    """Compile the folder's stack_config.json (writing compiled_template.json, samconfig.toml and
    the Lambda code beside it, as `ncap compile` does) and return what the shipping commands need."""
    from ..compiler import compile_file
    from ..config.report import grouped

    compiled, template_path = compile_file(config_path(folder))
    for line in grouped(compiled.config.warnings, tuple(a.name for a in compiled.config.affiliates)):
        say(f"warning: {line}")
    say(f"compiled {template_path} ({compiled.resource_count} resources after the SAM transform)")
    return Pipeline(template_path.parent, compiled.config, template_path, compiled.template)


def target_for(pipeline: Pipeline, options: TargetOptions, say) -> Target:
    endpoint = endpoint_from(options.endpoint_url)
    translate = bool(endpoint) if options.translate_locally is None else options.translate_locally
    if endpoint:
        say(f"endpoint: {endpoint} (every AWS call, and the sam CLI's, goes there)")
    target = Target(Aws(pipeline.region, endpoint), translate)
    if target.emulator:
        say("emulator mode (--translate-locally): the SAM template is translated here, and custom "
            "resources are answered by running their handlers in this process")
    elif translate:
        say("--translate-locally: the SAM template is translated here; CloudFormation gets plain resources")
    return target
