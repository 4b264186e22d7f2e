"""The pipeline's tag (names.PIPELINE_TAG = the pipeline's name) written on every resource that
costs money, in the shape each resource type takes, so that the pipeline's AWS budget and cost
reports see all of it however the stack was deployed (the stack's own tags add it too)."""
from __future__ import annotations

from troposphere import Tags

from .. import names
from ..config.model import StackConfig


def pipeline_tags(config: StackConfig) -> Tags:
    """A Tags list: buckets, queues, topics, log groups."""
    return Tags({names.PIPELINE_TAG: config.pipeline_name})


def pipeline_tag_map(config: StackConfig) -> dict[str, str]:
    """A Key: Value map: SAM functions."""
    return {names.PIPELINE_TAG: config.pipeline_name}


def budget_filter(config: StackConfig) -> dict:
    """The AWS Budgets cost filter on the pipeline's tag (a user-defined cost allocation tag)."""
    return {"TagKeyValue": [f"user:{names.PIPELINE_TAG}${config.pipeline_name}"]}
