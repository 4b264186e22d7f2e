"""`ncap local interrupt`: a Spot interruption of a running local cloud's worker instance, as EC2
gives it. The instance's metadata serves the interruption notice; its agent returns the job it
runs to the queue (or, interrupted too often, to the on-demand group's) and stops; the local
cloud then terminates the instance without lowering the desired capacity, and the group replaces
it (fleet.py)."""
from __future__ import annotations

import time
from pathlib import Path

import boto3

from .. import names
from ..errors import NcapError
from . import state
from .instances import interrupt as give_notice
from .jobs import _info

RECLAIM_SECONDS = 120.0  # EC2 reclaims a Spot instance two minutes after its notice


def spot_groups(config) -> list[str]:
    return [names.worker_group_name(config.pipeline_name, stage.name)
            for stage in config.worker_stages if stage.workers.spot]


def interrupt(pipeline_dir: Path, instance_id: str | None, given_state: str | None, say,
              timeout: float = RECLAIM_SECONDS) -> int:
    config, info = _info(pipeline_dir, given_state)
    groups = spot_groups(config)
    if not groups:
        raise NcapError(f"{config.pipeline_name} has no Spot workers (Workers.Spot): there is nothing to interrupt")
    autoscaling = boto3.client("autoscaling", endpoint_url=info["endpoint_url"], region_name=info["region"],
                               aws_access_key_id=info["admin"]["access_key_id"],
                               aws_secret_access_key=info["admin"]["secret_access_key"])
    candidates = in_service(autoscaling, groups)
    chosen = choose(candidates, instance_id, groups)
    give_notice(state.state_dir(pipeline_dir, given_state).resolve(), chosen)
    say(f"gave Spot instance {chosen} of {candidates[chosen][0]} the interruption notice; waiting for its "
        f"agent to return its job and for the group to replace it")
    deadline = time.monotonic() + timeout
    while chosen in in_service(autoscaling, groups):
        if time.monotonic() > deadline:
            raise NcapError(f"instance {chosen} is still in service after {timeout:.0f} s: is `ncap local up` "
                            "running?")
        time.sleep(0.5)
    say(f"instance {chosen} is gone; its job is queued again (see `ncap local status`)")
    return 0


def in_service(autoscaling, groups: list[str]) -> dict[str, tuple[str, bool]]:
    """instance id -> (its group, protected from scale-in: running a job), of every Spot group."""
    found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=groups)["AutoScalingGroups"]
    return {i["InstanceId"]: (g["AutoScalingGroupName"], bool(i.get("ProtectedFromScaleIn")))
            for g in found for i in g["Instances"] if i["LifecycleState"] == "InService"}


def choose(candidates: dict[str, tuple[str, bool]], instance_id: str | None, groups: list[str]) -> str:
    """The given instance, else one running a job, else any; an error naming the choices."""
    if instance_id is not None:
        if instance_id not in candidates:
            listed = ", ".join(sorted(candidates)) or "none"
            raise NcapError(f"--instance {instance_id}: not an instance in service of {', '.join(groups)} "
                            f"(in service: {listed})")
        return instance_id
    if not candidates:
        raise NcapError(f"no instance of {', '.join(groups)} is in service: nothing to interrupt")
    busy = sorted(i for i, (_, protected) in candidates.items() if protected)
    return (busy or sorted(candidates))[0]
