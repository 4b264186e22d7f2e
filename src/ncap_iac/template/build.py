"""Orchestrates the concern modules into the pipeline's templates. Pure: no I/O, no AWS.

The labs go into the one template while it stays within CloudFormation's limits; when they do not
fit (or the config says STAGE websubstack, as NCAP's nested layout), the parent template keeps
what the pipeline shares and each lab gets a nested template of its own, referenced by a relative
path that `sam package` (or ncap's own packaging) uploads. One lab per nested template: adding a
lab adds one nested stack and leaves every other lab's template byte for byte as it was.

Template dicts are assembled here rather than by troposphere's Template, whose own resource and
output caps would fire before limits.py can say by how much a config exceeds CloudFormation's.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from troposphere import AWSObject, Output
from troposphere.cloudformation import Stack

from .. import names
from ..config.model import StackConfig
from ..lambda_code import CODE_FOLDER
from . import access, budgets, compute, identity, image, labs, monitoring, post, queue, storage, trigger
from .limits import fits

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
NESTED_STAGE = "websubstack"


@dataclass(frozen=True)
class Templates:
    """The parent (or only) template, and each lab's nested template by its relative path."""

    parent: dict
    children: dict = field(default_factory=dict)

    @property
    def nested(self) -> bool:
        return bool(self.children)


def build_templates(config: StackConfig, submit_code_uri: str = CODE_FOLDER) -> Templates:
    """Every function's code is the product's, in CODE_FOLDER beside the template, except a submit
    function from a folder of the config's own (`submit_code_uri`, relative to the template)."""
    if config.stage != NESTED_STAGE:
        one = _template(config, _shared(config, submit_code_uri) + _labs_inline(config), description(config))
        if fits(one, to_json(one)):
            return Templates(one)
    return _nested(config, submit_code_uri)


def build_template(config: StackConfig, submit_code_uri: str = CODE_FOLDER) -> dict:
    """The parent (or only) template."""
    return build_templates(config, submit_code_uri).parent


def _shared(config: StackConfig, submit_code_uri: str) -> list[AWSObject]:
    people = access.resources(config) if config.uses_directory else identity.shared_resources(config)
    return [*storage.resources(config), *people, *queue.resources(config),
            *trigger.resources(config, submit_code_uri), *compute.resources(config), *image.resources(config),
            *monitoring.resources(config),
            *budgets.resources(config), *post.resources(config)]


def _labs_inline(config: StackConfig) -> list[AWSObject]:
    found = [r for a in config.affiliates for r in labs.resources(config, a, labs.IN_THE_PIPELINE)]
    if config.uses_directory:
        return found
    members = [m for a in config.affiliates for m in identity.member_ids(a)]
    return found + [identity.pipeline_users(config, members)]


def _nested(config: StackConfig, submit_code_uri: str) -> Templates:
    stacks = [Stack(names.lab_stack(a.name), TemplateURL=names.lab_template(a.name),
                    Parameters=labs.parameter_values(config, a)) for a in config.affiliates]
    users = [] if config.uses_directory else [identity.pipeline_users(config, [s.title for s in stacks])]
    parent = _template(config, [*_shared(config, submit_code_uri), *stacks, *users],
                       description(config) + ", labs in nested stacks")
    children = {names.lab_template(a.name): _lab_template(config, a) for a in config.affiliates}
    return Templates(parent, children)


def _lab_template(config: StackConfig, affiliate) -> dict:
    return {"AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"ncap_iac pipeline {config.pipeline_name}: lab {affiliate.name}",
            "Parameters": _by_title(labs.parameters(config, affiliate)),
            "Resources": _by_title(labs.resources(config, affiliate, labs.IN_A_LAB_STACK))}


def _template(config: StackConfig, resources: list[AWSObject], text: str) -> dict:
    people = access if config.uses_directory else identity
    outputs = [o for module in (storage, people, queue, compute, monitoring) for o in module.outputs(config)]
    return {"AWSTemplateFormatVersion": "2010-09-09", "Transform": SAM_TRANSFORM, "Description": text,
            "Parameters": _by_title(compute.parameters(config)), "Resources": _by_title(resources),
            "Outputs": _by_title(outputs)}


def _by_title(objects: list[AWSObject | Output]) -> dict:
    result = {}
    for obj in objects:
        if obj.title in result:
            raise ValueError(f"logical id {obj.title} declared twice")
        result[obj.title] = obj.to_dict()
    return result


def description(config: StackConfig) -> str:
    labs = len(config.affiliates)
    return (f"ncap_iac pipeline {config.pipeline_name}: {labs} lab{'s' if labs != 1 else ''}, "
            f"{config.workers.instance_type} workers, {config.trigger.mode} trigger")


def to_json(template: dict) -> str:
    """Deterministic serialisation: sorted keys, two-space indent, trailing newline."""
    return json.dumps(template, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
