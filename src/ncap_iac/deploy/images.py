"""`ncap image status`: which image each stage's workers start from in the deployed stack, where it
comes from (built from the pipeline folder, the default image, or the config's own AMI) and when it
was made, read from the stack's launch templates and EC2's record of the image. Rolling back is
deploying the previous config: the stack's image then is the previous one again."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from .. import names
from ..aws.clients import Aws, endpoint_from
from ..aws.errors import aws_errors
from ..aws.stacks import describe_stack, stack_resources
from ..config import load
from ..config.model import Stage
from ..errors import NcapError
from ..images import default_image
from .target import config_path


@dataclass(frozen=True)
class StageImage:
    stage: str
    image_id: str
    source: str
    name: str
    created: str


def image_status(folder: Path, endpoint_flag: str | None) -> list[StageImage]:
    config = load(config_path(folder))
    aws = Aws(config.region, endpoint_from(endpoint_flag))
    if describe_stack(aws.cloudformation, config.pipeline_name) is None:
        raise NcapError(f"there is no stack {config.pipeline_name} in {aws.where()}: deploy it first")
    physical = stack_resources(aws.cloudformation, config.pipeline_name)
    return [_stage_image(aws, physical, stage) for stage in config.worker_stages]


def _stage_image(aws: Aws, physical: dict, stage: Stage) -> StageImage:
    template = physical.get(names.in_stage(names.LAUNCH_TEMPLATE, stage.name))
    if not template:
        raise NcapError(f"the deployed stack has no launch template for {stage.name or 'its workers'}")
    ec2 = aws.client("ec2")
    data = ec2.describe_launch_template_versions(LaunchTemplateId=template, Versions=["$Latest"])[
        "LaunchTemplateVersions"][0]["LaunchTemplateData"]
    image_id = data.get("ImageId", "")
    try:
        found = ec2.describe_images(ImageIds=[image_id])["Images"] if image_id.startswith("ami-") else []
    except aws_errors():
        found = []  # deregistered, or shared and no longer visible
    image = found[0] if found else {}
    return StageImage(stage.name or "(the pipeline)", image_id, _source(stage),
                      image.get("Name", "(not visible to this account)"), image.get("CreationDate", "unknown"))


def _source(stage: Stage) -> str:
    w = stage.workers
    if w.image is not None:
        return f"built from the pipeline folder ({', '.join(s.name for s in w.image.setup)} on {w.image.parent})"
    if w.ami:
        return "the config's AMI"
    found = default_image(w.instance_type)
    return f"the default image, {found.parameter}" if not isinstance(found, str) else "unknown"


def as_json(found: list[StageImage]) -> list[dict]:
    return [asdict(entry) for entry in found]


def table(found: list[StageImage]) -> list[str]:
    width = max(len("stage"), *(len(entry.stage) for entry in found))
    lines = [f"{'stage':<{width}}  {'image':<21}  {'made':<24}  source"]
    for entry in found:
        lines.append(f"{entry.stage:<{width}}  {entry.image_id:<21}  {entry.created:<24}  {entry.source}")
        lines.append(f"{'':<{width}}  {'':<21}  {'':<24}  name: {entry.name}")
    return lines
