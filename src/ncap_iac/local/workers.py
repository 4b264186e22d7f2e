"""The local cloud's worker agents: a fleet per stage (local/fleet.py), each agent an instance of
its stage's group, booted by the group's own user data (local/instances.py); a Spot stage with an
on-demand fallback has a second fleet, of its on-demand group, which starts from zero and grows
when a Spot agent asks it for capacity."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

from .. import names
from ..aws.clients import Aws
from ..errors import NcapError
from .fleet import Fleet
from .identities import Identities, instances
from .instances import AGENT_TIMINGS, STAND_IN_NOTE, Booter
from .metadata import MetadataService
from .stack import LocalStack

POLL_SECONDS = int(AGENT_TIMINGS["NCAP_AGENT_POLL_SECONDS"])  # short long-polls: workers notice a stop quickly
GRACE_SECONDS = float(AGENT_TIMINGS["NCAP_AGENT_GRACE"])  # a running job may finish this long after `down`


def stage_workers(config, workers: int, per_stage: dict[str, int]) -> dict[str | None, int]:
    """The most workers of each stage: `workers`, or a stage's own number in `per_stage`."""
    known = [stage.name for stage in config.worker_stages]
    unknown = sorted(set(per_stage) - set(filter(None, known)))
    if unknown:
        named = ", ".join(str(n) for n in known if n) or "none: the pipeline has one stage"
        raise NcapError(f"--workers-per-stage: no stage {', '.join(unknown)} (the stages: {named})")
    return {name: per_stage.get(str(name), workers) for name in known}


def start_fleets(config, stack: LocalStack, aws: Aws, folder: Path, identities: Identities,
                 metadata: MetadataService, counts: dict, start_instances: int | None, say) -> list[Fleet]:
    """Each stage's group at its starting capacity and its fleet of agents, started and ready."""
    fleets: list[Fleet] = []
    stages = config.worker_stages
    say(STAND_IN_NOTE)
    for stage in stages:
        most = counts[stage.name]
        start = most if start_instances is None else start_instances
        if start > most:
            raise NcapError(f"--start-instances {start}: more than the {most} workers of {_stage_label(stage)}")
        for on_demand in stage.capacities:
            group = stack.outputs[names.in_stage(_output(names.WORKER_GROUP_OUTPUT, on_demand), stage.name)]
            instances(aws, group, 0 if on_demand else start)
            starter = _worker_starter(config, stack, folder, identities, metadata, stage, group, on_demand)
            fleet = Fleet(aws, group, most, starter, folder, _log_prefix(stage, on_demand))
            fleets.append(fleet)
            problem = fleet.sync()
            if problem:
                raise NcapError(problem)
    _check_workers_started(fleets)
    served = [(stage, on_demand) for stage in stages for on_demand in stage.capacities]
    for fleet, (stage, on_demand) in zip(fleets, served):
        queue = stack.outputs[names.in_stage(_output(names.QUEUE_OUTPUT, on_demand), stage.name)]
        what = f"the on-demand group of {_stage_label(stage)}" if on_demand else _stage_label(stage)
        say(f"{len(fleet.workers)} worker agent(s) of {what} polling {queue}, each an instance of {fleet.group} "
            f"with the worker role; the workers follow the group (at most {fleet.most})")
    return fleets


def _output(name: str, on_demand: bool) -> str:
    """A stage's output, or its on-demand group's (OnDemandWorkerGroupName, OnDemandQueueUrl)."""
    if not on_demand:
        return name
    return {names.WORKER_GROUP_OUTPUT: names.ON_DEMAND_GROUP_OUTPUT,
            names.QUEUE_OUTPUT: names.ON_DEMAND_QUEUE_OUTPUT}[name]


def _stage_label(stage) -> str:
    return f"stage {stage.name}" if stage.name else "the pipeline"


def _log_prefix(stage, on_demand: bool = False) -> str:
    """worker-N.log, or worker-STAGE-N.log for a stage's workers; worker-[STAGE-]on-demand-N.log for
    its on-demand group's."""
    kind = "on-demand-" if on_demand else ""
    return f"worker-{stage.name}-{kind}" if stage.name else f"worker-{kind}"


def _worker_starter(config, stack: LocalStack, folder: Path, identities: Identities, metadata: MetadataService,
                    stage, group: str, on_demand: bool):
    """Boots an instance of `group` (the stage's, or its on-demand group) by its launch template's
    user data (instances.py); a Spot group's instances are Spot in their metadata."""
    role = identities.role_arn(stack.context.physical_ids[names.INSTANCE_ROLE])
    life_cycle = "spot" if stage.workers.spot and not on_demand else "on-demand"
    booter = Booter(identities.aws, identities, metadata, folder, group, role, stage.workers.instance_type,
                    life_cycle)
    prefix = _log_prefix(stage, on_demand)

    def start(instance: str, n: int) -> subprocess.Popen:
        return booter.boot(instance, folder / f"{prefix}{n}.log")

    return start


def _check_workers_started(fleets: list[Fleet], timeout: float = 20.0) -> None:
    """Wait until every worker has said it started (it has read its queue's settings)."""
    waiting = {fleet.log(worker.number): worker.process for fleet in fleets for worker in fleet.workers}
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for log, process in sorted(waiting.items()):
            if process.poll() is not None:
                raise NcapError(f"worker {_number(log)} exited at start-up (code {process.returncode}); see {log}")
            if '"decision": "started"' in log.read_text(errors="replace"):
                del waiting[log]
        time.sleep(0.1)
    if waiting:
        log = min(waiting)
        raise NcapError(f"worker {_number(log)} did not start within {timeout:.0f} s; see {log}")


def _number(log: Path) -> str:
    """A worker as its log names it: "0", or "preprocess-0" for a stage's."""
    return log.stem.removeprefix("worker-")
