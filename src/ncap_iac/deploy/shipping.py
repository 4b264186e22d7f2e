"""`ncap build`, `ncap package` and `ncap deploy --method sam`: the real sam CLI, every argument
taken from the config, run from the pipeline folder. On an emulator (no SAM transform there) the
packaged template is translated here and `sam deploy` ships the translation."""
from __future__ import annotations

import json
from pathlib import Path

from ..aws.stacks import deployed_template, describe_stack, outputs
from ..compiler import stack_tags
from ..emulator import changes as emulator
from ..emulator.prepare import for_moto
from ..errors import NcapError
from . import changeset, sam
from .changeset import Deployed
from .options import ShipOptions
from .prompt import require_answerable
from .target import PACKAGED_NAME, TRANSLATED_NAME, Pipeline, load_pipeline


def build(options: ShipOptions, say) -> Path:
    """`sam build`; the built template."""
    pipeline = load_pipeline(options.pipeline_dir, say)
    run_build(pipeline, say)
    say(f"built {pipeline.folder / sam.BUILT_TEMPLATE}")
    return pipeline.folder / sam.BUILT_TEMPLATE


def run_build(pipeline: Pipeline, say) -> None:
    argv = sam.build_argv(pipeline.template_path.relative_to(pipeline.folder), pipeline.region)
    sam.run(argv, pipeline.folder, None, say)


def package(options: ShipOptions, say) -> Path:
    """`sam build` (unless skipped) and `sam package`; the packaged template."""
    shipment = changeset.prepare(options, say)
    packaged = build_and_package(shipment, options.skip_build, say)
    parameters = changeset.worker_parameters(shipment, say)
    say(f"wrote {packaged}: every CodeUri now points into s3://{shipment.bucket}/{shipment.pipeline.name}/")
    say("deploy it with the parameters that name the uploaded worker agent: sam deploy --parameter-overrides "
        + " ".join(f"{k}={v}" for k, v in sorted(parameters.items())))
    return packaged


def build_and_package(shipment, skip_build: bool, say):
    pipeline = shipment.pipeline
    if skip_build:
        if not (pipeline.folder / sam.BUILT_TEMPLATE).is_file():
            raise NcapError(f"{pipeline.folder.name}: --skip-build, but there is no build yet: run `ncap build` first")
        say(f"using the existing build in {pipeline.folder / sam.BUILT_TEMPLATE.parent}")
    else:
        run_build(pipeline, say)
    argv = sam.package_argv(shipment.bucket, pipeline.name, pipeline.region)
    sam.run(argv, pipeline.folder, shipment.target.endpoint, say)
    return pipeline.folder / PACKAGED_NAME


def deploy(options: ShipOptions, say) -> Deployed:
    if options.method == "changeset":
        return changeset.deploy(options, say)
    require_answerable(options.yes, "ncap deploy")
    shipment = changeset.prepare(options, say)
    changeset.account_check(shipment, options, say, stop=True)
    packaged = build_and_package(shipment, options.skip_build, say)
    parameters = changeset.worker_parameters(shipment, say)
    pipeline, target = shipment.pipeline, shipment.target
    template_file = _translate(packaged, pipeline, target, say) if target.translate_locally else PACKAGED_NAME
    before = emulator.snapshot(target.aws, pipeline.name) if target.emulator else None
    argv = sam.deploy_argv(template_file, pipeline.name, pipeline.region, shipment.bucket, confirm=not options.yes,
                           tags=stack_tags(pipeline.config), parameters=parameters)
    sam.run(argv, pipeline.folder, target.endpoint, say, interactive=not options.yes)
    return _finish(shipment, before, say)


def _finish(shipment, before, say) -> Deployed:
    """On an emulator, finish what sam deployed (nothing new if its change set was declined)."""
    aws, pipeline = shipment.target.aws, shipment.pipeline
    stack = describe_stack(aws.cloudformation, pipeline.name)
    if stack is None:
        return Deployed(pipeline.name, "", 0, {})
    if before is not None:
        after = deployed_template(aws.cloudformation, pipeline.name)
        say(emulator.complete(before, after, aws, stack["StackId"], pipeline.template_path).summary())
    changeset.print_outputs(stack, say)
    return Deployed(pipeline.name, stack["StackStatus"], None, outputs(stack))


def _translate(packaged, pipeline: Pipeline, target, say):
    """Translate the packaged template here (and, on an emulator, resolve its dynamic references as
    CloudFormation would); the path (relative to the pipeline) of the result."""
    from ..translate import translate

    translated = emulator.dependency_order(translate(json.loads(packaged.read_text(encoding="utf-8")),
                                                     pipeline.region))
    if target.emulator:
        translated = for_moto(translated, target.aws)
    (pipeline.folder / TRANSLATED_NAME).write_text(json.dumps(translated, indent=1), encoding="utf-8")
    say(f"translated the packaged template here (no SAM transform on the target): "
        f"{pipeline.folder / TRANSLATED_NAME}")
    return TRANSLATED_NAME
