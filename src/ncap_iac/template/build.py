"""Orchestrates the concern modules into one SAM template. Pure: no I/O, no AWS.

The template dict is assembled here rather than by troposphere's Template, whose own resource and
output caps would fire before limits.py can say by how much a config exceeds CloudFormation's.
"""
from __future__ import annotations

import json

from troposphere import AWSObject, Output

from ..config.model import StackConfig
from ..lambda_code import CODE_FOLDER
from . import compute, identity, monitoring, queue, storage, trigger

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


def build_template(config: StackConfig, submit_code_uri: str = CODE_FOLDER) -> dict:
    """The compiled template as a dict. Every function's code is the product's, in CODE_FOLDER
    beside the template, except a submit function from a folder of the config's own
    (`submit_code_uri`, relative to where the template will be written)."""
    resources = [*storage.resources(config), *identity.resources(config),
                 *queue.resources(config), *trigger.resources(config, submit_code_uri),
                 *compute.resources(config), *monitoring.resources(config)]
    outputs = [o for module in (storage, identity, queue, compute, monitoring) for o in module.outputs(config)]
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": SAM_TRANSFORM,
        "Description": description(config),
        "Resources": _by_title(resources),
        "Outputs": _by_title(outputs),
    }


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
