"""The workers' machine image: Workers.AMI (or NCAP's LambdaConfig.AMI), else the default image for
the instance type (ncap_iac/images.py), which some families cannot use; a placeholder AMI id is
warned about (no instance starts from it on AWS)."""
from __future__ import annotations

import re
from collections.abc import Iterator

from ..errors import Issue
from ..images import ROOT_DEVICE, default_image
from .budgets import instance_type
from .document import lambda_config, obj
from .stages import stage_document, stage_entries

PLACEHOLDER = re.compile(r"^ami-0+$")
OTHER_ROOT_DEVICE = "/dev/sda1"  # the default for an AMI of the config's own (Ubuntu's root device)


def given_ami(doc: dict):
    return obj(doc.get("Workers")).get("AMI", lambda_config(doc).get("AMI"))


def check_default_image(doc: dict) -> Iterator[Issue]:
    """Without an AMI, the instance type must be one the default image serves."""
    if given_ami(doc) is not None or isinstance(obj(doc.get("Workers")).get("Image"), dict):
        return  # an image of the config's own, or one built (image_build.py checks its parent)
    found = default_image(instance_type(doc))
    if isinstance(found, str):
        yield Issue("Workers.AMI", f"required key is missing: there is no default image for {found}; give an AMI "
                                   f"with the drivers it needs (or Lambda.LambdaConfig.AMI)")


def root_device(workers: dict, ami) -> str:
    """Workers.RootDeviceName, else Ubuntu's for an AMI of the config's own (given as the AMI or as
    the parent of the image it builds), else the default images' root device."""
    given = workers.get("RootDeviceName")
    if isinstance(given, str):
        return given
    parent = obj(workers.get("Image")).get("ParentImage")
    own = ami or (isinstance(parent, str) and parent.startswith("ami-"))
    return OTHER_ROOT_DEVICE if own else ROOT_DEVICE


def warnings(doc: dict) -> list[Issue]:
    found = []
    views = [("Workers.AMI", doc)] + [(f"Stages[{i}].Workers.AMI", stage_document(doc, entry))
                                      for i, entry in enumerate(stage_entries(doc))
                                      if "AMI" in obj(entry.get("Workers"))]
    for path, view in views:
        ami = given_ami(view)
        if isinstance(ami, str) and PLACEHOLDER.match(ami):
            where = path if "AMI" in obj(view.get("Workers")) else "Lambda.LambdaConfig.AMI"
            found.append(Issue(where, f"{ami} is a placeholder: no instance starts from it on AWS (leave the AMI "
                                      f"out to use the default image for the instance type)"))
    return found
