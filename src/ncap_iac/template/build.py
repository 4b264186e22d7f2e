"""Orchestrates the concern modules into one SAM template. Pure: no I/O, no AWS."""
from __future__ import annotations

import json

from troposphere import Template

from ..config.model import StackConfig
from . import compute, identity, monitoring, queue, storage, trigger

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


def build_template(config: StackConfig, code_uri: str) -> dict:
    """The compiled template as a dict. code_uri is the Lambda code folder relative to where the
    template will be written."""
    template = Template(Description=description(config))
    template.set_version("2010-09-09")
    template.set_transform(SAM_TRANSFORM)
    template.add_resource(storage.resources(config, code_uri))
    template.add_resource(identity.resources(config, code_uri))
    template.add_resource(queue.resources(config))
    template.add_resource(trigger.resources(config, code_uri))
    template.add_resource(compute.resources(config))
    template.add_resource(monitoring.resources(config, code_uri))
    for module in (storage, identity, queue, compute, monitoring):
        template.add_output(module.outputs(config))
    return template.to_dict()


def description(config: StackConfig) -> str:
    labs = len(config.affiliates)
    return (f"ncap_iac pipeline {config.pipeline_name}: {labs} lab{'s' if labs != 1 else ''}, "
            f"{config.workers.instance_type} workers, {config.trigger.mode} trigger")


def to_json(template: dict) -> str:
    """Deterministic serialisation: sorted keys, two-space indent, trailing newline."""
    return json.dumps(template, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
