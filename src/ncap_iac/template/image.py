"""Images built from the pipeline folder (Workers.Image) with EC2 Image Builder, a stage each:

- a component: the Setup scripts, run in order as root on a build instance (build phase), then the
  image test (test phase, on an instance of the new image): the agent and the analysis installed
  from the artifact bucket as an instance's user data installs them, and the pipeline's command
  run on the sample by the agent's one-job mode (`ncap sample`) as the jobs' user; a failing test
  fails the build, and so the deploy;
- a recipe (parent image, the component, the root volume), an infrastructure configuration (the
  build instance's type, profile, subnet) and the image; the launch template starts from it.

Component and recipe versions are immutable in Image Builder: each version here is derived from
its content, so an unchanged setup leaves the template byte for byte as it was and a changed one
makes new versions (a new image on deploy). What the test needs that changes with every deploy
(the agent bundle's key) it reads from an SSM parameter of the stack, so that a new agent does
not rebuild the image. The build instance's profile may read those objects and that parameter,
and holds the two AWS policies Image Builder documents for a build instance."""
from __future__ import annotations

import hashlib
import json
import math

from troposphere import AWSObject, GetAtt, Ref, Sub
from troposphere.iam import InstanceProfile
from troposphere.imagebuilder import (
    Component,
    ComponentConfiguration,
    EbsInstanceBlockDeviceSpecification,
    Image,
    ImageRecipe,
    ImageTestsConfiguration,
    InfrastructureConfiguration,
    InstanceBlockDeviceMapping,
    InstanceMetadataOptions,
)
from troposphere.ssm import Parameter

from .. import names
from ..bundle.code import code_key, code_sha256
from ..config.model import StackConfig, Stage
from . import iam
from .agent import JOB_USER
from .tags import pipeline_tag_map
from .user_data import FIND_PYTHON, boot_program, stage_code_key

BUILD_POLICIES = ("AmazonSSMManagedInstanceCore", "EC2InstanceProfileForImageBuilder")
SAMPLE_UNDER = "sample"


def image_stages(config: StackConfig) -> list[Stage]:
    return [stage for stage in config.worker_stages if stage.workers.image is not None]


def resources(config: StackConfig) -> list[AWSObject]:
    stages = image_stages(config)
    if not stages:
        return []
    found: list[AWSObject] = [_build_role(config, stages),
                              InstanceProfile(names.IMAGE_BUILD_PROFILE, Roles=[Ref(names.IMAGE_BUILD_ROLE)])]
    for stage in stages:
        found += [_test_parameter(config, stage), _component(config, stage), _recipe(config, stage),
                  _infrastructure(config, stage), _image(config, stage)]
    return found


def image_id(stage: Stage) -> GetAtt:
    return GetAtt(names.in_stage(names.WORKER_IMAGE, stage.name), "ImageId")


def sample_key(stage: Stage) -> str:
    image = stage.workers.image
    assert image is not None
    return code_key(code_sha256(image.sample, SAMPLE_UNDER))


def test_parameter_name(config: StackConfig, stage: Stage) -> str:
    return f"/ncap/{config.pipeline_name}/{stage.name.lower() + '/' if stage.name else ''}image-test"


def semantic_version(content: str) -> str:
    """1.MINOR.PATCH from the content's SHA-256 (56 of its bits; Image Builder allows 2^30 a node)."""
    digest = hashlib.sha256(content.encode()).hexdigest()
    return f"1.{int(digest[:7], 16)}.{int(digest[7:14], 16)}"


def _build_role(config: StackConfig, stages: list[Stage]):
    objects = sorted({f"${{{names.AGENT_BUNDLE_PARAMETER}}}", *(sample_key(s) for s in stages),
                      *filter(None, (stage_code_key(s) for s in stages))})
    role = iam.service_role(names.IMAGE_BUILD_ROLE, "ec2.amazonaws.com", "image-build", [
        iam.statement("InstallAgentForTest", ["s3:GetObject"], [
            Sub(f"arn:${{AWS::Partition}}:s3:::${{{names.ARTIFACT_BUCKET_PARAMETER}}}/{key}") for key in objects]),
        iam.statement("ReadTestSpec", ["ssm:GetParameter"], [
            iam.service_arn("ssm", f"parameter{test_parameter_name(config, s)}") for s in stages])])
    role.ManagedPolicyArns = [Sub(f"arn:${{AWS::Partition}}:iam::aws:policy/{name}") for name in BUILD_POLICIES]
    return role


def _test_parameter(config: StackConfig, stage: Stage) -> Parameter:
    """What the image test runs: the agent bundle and analysis to install, the sample, the command."""
    spec = {"bucket": "@BUCKET@", "agent": "@AGENT@", "code": stage_code_key(stage) or "", "sample": sample_key(stage),
            "command": stage.workers.command, "job_timeout": stage.workers.job_timeout,
            "one_dataset": config.trigger.mode == "fileset" or stage != config.worker_stages[0]}
    text = json.dumps(spec, sort_keys=True).replace("${", "${!")
    text = text.replace("@BUCKET@", f"${{{names.ARTIFACT_BUCKET_PARAMETER}}}")
    return Parameter(names.in_stage(names.IMAGE_TEST_PARAMETER, stage.name), Name=test_parameter_name(config, stage),
                     Type="String", Value=Sub(text.replace("@AGENT@", f"${{{names.AGENT_BUNDLE_PARAMETER}}}")),
                     Description=f"The image test of pipeline {config.pipeline_name}"[:1024])


def test_script(config: StackConfig, stage: Stage) -> str:
    """The test phase: the jobs' user made, then the boot in its image-test mode."""
    return ("set -eu\n" + FIND_PYTHON +
            f"id {JOB_USER} >/dev/null 2>&1 || useradd --system --user-group --create-home --home-dir "
            f"/var/lib/{JOB_USER} --shell /usr/sbin/nologin {JOB_USER}\n"
            f'"$python" - --image-test {test_parameter_name(config, stage)} {config.region} {JOB_USER} '
            "<<'NCAP_BOOT'\n" + boot_program() + "NCAP_BOOT\n")


def component_document(config: StackConfig, stage: Stage) -> dict:
    image = stage.workers.image
    assert image is not None
    setup = [{"name": f"Setup{n}", "action": "ExecuteBash", "inputs": {"commands": [script.text]}}
             for n, script in enumerate(image.setup, start=1)]
    test = [{"name": "RunTheSample", "action": "ExecuteBash", "inputs": {"commands": [test_script(config, stage)]}}]
    return {"name": _name(config, stage, "setup"), "schemaVersion": 1.0,
            "description": "Setup: " + ", ".join(s.name for s in image.setup) + "; test: the command on the sample",
            "phases": [{"name": "build", "steps": setup}, {"name": "test", "steps": test}]}


def _component(config: StackConfig, stage: Stage) -> Component:
    data = json.dumps(component_document(config, stage), indent=1, sort_keys=True)  # JSON is YAML too
    return Component(names.in_stage(names.IMAGE_COMPONENT, stage.name), Name=_name(config, stage, "setup"),
                     Platform="Linux", Version=semantic_version(data), Data=data,
                     Description=f"The image setup and test of pipeline {config.pipeline_name}",
                     Tags=_tags(config))


def _recipe(config: StackConfig, stage: Stage) -> ImageRecipe:
    image, w = stage.workers.image, stage.workers
    assert image is not None
    component = _component(config, stage)
    volume = InstanceBlockDeviceMapping(DeviceName=w.root_device_name, Ebs=EbsInstanceBlockDeviceSpecification(
        VolumeSize=w.volume_size_gib, VolumeType="gp3", Encrypted=True, DeleteOnTermination=True))
    version = semantic_version("|".join((component.properties["Version"], image.parent, w.root_device_name,
                                         str(w.volume_size_gib))))
    return ImageRecipe(names.in_stage(names.IMAGE_RECIPE, stage.name), Name=_name(config, stage), Version=version,
                       ParentImage=image.parent, BlockDeviceMappings=[volume], Tags=_tags(config),
                       Components=[ComponentConfiguration(ComponentArn=GetAtt(component.title, "Arn"))])


def _infrastructure(config: StackConfig, stage: Stage) -> InfrastructureConfiguration:
    image, w = stage.workers.image, stage.workers
    assert image is not None
    infrastructure = InfrastructureConfiguration(
        names.in_stage(names.IMAGE_INFRASTRUCTURE, stage.name), Name=_name(config, stage, "image-build"),
        InstanceProfileName=Ref(names.IMAGE_BUILD_PROFILE), InstanceTypes=[image.build_instance_type],
        TerminateInstanceOnFailure=True, Tags=_tags(config),
        InstanceMetadataOptions=InstanceMetadataOptions(HttpTokens="required", HttpPutResponseHopLimit=1))
    if w.subnets:
        infrastructure.SubnetId = w.subnets[0]
        infrastructure.SecurityGroupIds = [g for g in w.security_groups if g.startswith("sg-")]
    return infrastructure


def _image(config: StackConfig, stage: Stage) -> Image:
    minutes = min(1440, max(60, math.ceil(stage.workers.job_timeout / 60) + 30))
    return Image(names.in_stage(names.WORKER_IMAGE, stage.name),
                 ImageRecipeArn=GetAtt(names.in_stage(names.IMAGE_RECIPE, stage.name), "Arn"),
                 InfrastructureConfigurationArn=GetAtt(names.in_stage(names.IMAGE_INFRASTRUCTURE, stage.name), "Arn"),
                 ImageTestsConfiguration=ImageTestsConfiguration(ImageTestsEnabled=True, TimeoutMinutes=minutes),
                 EnhancedImageMetadataEnabled=True, Tags=_tags(config),
                 DependsOn=[names.in_stage(names.IMAGE_TEST_PARAMETER, stage.name)])


def _name(config: StackConfig, stage: Stage, suffix: str = "") -> str:
    return "-".join(filter(None, (config.pipeline_name, stage.name.lower() if stage.name else "", suffix)))


def _tags(config: StackConfig) -> dict:
    return pipeline_tag_map(config)
