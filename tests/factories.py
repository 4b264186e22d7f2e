"""Configs made in code for tests and benchmarks."""
from __future__ import annotations

import copy


def minimal_config(**overrides) -> dict:
    doc = {
        "PipelineName": "test-pipeline",
        "REGION": "us-east-1",
        "Workers": {"AMI": "ami-0123456789abcdef0", "Command": "run.sh {} {} {} {}"},
        "UXData": {"Affiliates": [{"AffiliateName": "lab-a", "UserNames": ["alice"]}]},
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def many_labs_config(labs: int, users_per_lab: int, name: str = "many-labs") -> dict:
    """labs affiliates of users_per_lab users each, every lab with a contact email."""
    affiliates = [{"AffiliateName": f"lab{a:03d}",
                   "UserNames": [f"lab{a:03d}-user{u}" for u in range(users_per_lab)],
                   "ContactEmail": f"lab{a:03d}@example.org"} for a in range(labs)]
    return minimal_config(PipelineName=name, UXData={"Affiliates": affiliates})
