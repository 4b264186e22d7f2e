"""A translated template as moto can take it and as AWS would act on it, before it goes to moto's
CloudFormation: dynamic references resolved (dynamic_references.py), built images answered by
stand-ins (images.py)."""
from __future__ import annotations

from .dynamic_references import resolve_dynamic_references
from .images import stand_in_images


def for_moto(template: dict, aws) -> dict:
    return stand_in_images(resolve_dynamic_references(template, aws), aws)
