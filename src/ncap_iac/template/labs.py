"""One lab's resources (its group, its members, its notices), the same wherever they live: in the
pipeline's one template, or in a nested template of their own, where the parent passes in what
the lab refers to."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from troposphere import AWSObject, GetAtt, Parameter, Ref

from .. import names
from ..config.model import Affiliate, StackConfig
from . import identity, monitoring

USERS_FUNCTION_PARAMETER = "UsersFunctionArn"
TOPIC_PARAMETER = "TopicArn"


@dataclass(frozen=True)
class Shared:
    """How a lab's resources name what the pipeline shares."""

    users_function: Any  # ARN of the function that answers the members resources
    topic: Any  # ARN of the notices topic


IN_THE_PIPELINE = Shared(GetAtt(names.USERS_FUNCTION, "Arn"), Ref(names.TOPIC))
IN_A_LAB_STACK = Shared(Ref(USERS_FUNCTION_PARAMETER), Ref(TOPIC_PARAMETER))


def resources(config: StackConfig, affiliate: Affiliate, shared: Shared) -> list[AWSObject]:
    people = [] if config.uses_directory else identity.lab_resources(config, affiliate, shared.users_function)
    return [*people,
            *monitoring.lab_resources(config, affiliate, shared.topic)]


PARAMETERS = {USERS_FUNCTION_PARAMETER: ("ARN of the pipeline's users function", IN_THE_PIPELINE.users_function),
              TOPIC_PARAMETER: ("ARN of the pipeline's notices topic", IN_THE_PIPELINE.topic)}


def used_parameters(config: StackConfig, affiliate: Affiliate) -> list[str]:
    """The parameters a lab's nested template refers to (a lab without a ContactEmail has no
    notices, so no topic)."""
    text = json.dumps([r.to_dict() for r in resources(config, affiliate, IN_A_LAB_STACK)])
    return [name for name in PARAMETERS if json.dumps({"Ref": name}) in text]


def parameters(config: StackConfig, affiliate: Affiliate) -> list[Parameter]:
    """What a lab's nested template takes from its parent."""
    return [Parameter(name, Type="String", Description=PARAMETERS[name][0])
            for name in used_parameters(config, affiliate)]


def parameter_values(config: StackConfig, affiliate: Affiliate) -> dict:
    """What the parent passes to a lab's nested template."""
    return {name: PARAMETERS[name][1] for name in used_parameters(config, affiliate)}
