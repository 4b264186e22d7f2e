"""The local cloud's worker agents: a fleet per stage (local/fleet.py), each agent a process
started as an instance of its stage's group with the worker role's credentials and the agent
arguments the template gives that stage's instances, plus local options (short polls, a short
grace, the pipeline folder as the command's folder)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .. import names
from ..aws.clients import Aws
from ..errors import NcapError
from ..lambda_repo.ncap_lambda.roles import job_role_path
from ..template.agent import agent_arguments
from .fleet import Fleet
from .identities import Identities, instances
from .stack import LocalStack

HEARTBEAT_SECONDS = 10
POLL_SECONDS = 2  # short long-polls so that workers notice a stop quickly
GRACE_SECONDS = 10  # a running job may finish this long after `down`


def stage_workers(config, workers: int, per_stage: dict[str, int]) -> dict[str | None, int]:
    """The most workers of each stage: `workers`, or a stage's own number in `per_stage`."""
    known = [stage.name for stage in config.worker_stages]
    unknown = sorted(set(per_stage) - set(filter(None, known)))
    if unknown:
        named = ", ".join(str(n) for n in known if n) or "none: the pipeline has one stage"
        raise NcapError(f"--workers-per-stage: no stage {', '.join(unknown)} (the stages: {named})")
    return {name: per_stage.get(str(name), workers) for name in known}


def start_fleets(config, stack: LocalStack, aws: Aws, pipeline_dir: Path, folder: Path, identities: Identities,
                 counts: dict, start_instances: int | None, say) -> list[Fleet]:
    """Each stage's group at its starting capacity and its fleet of agents, started and ready."""
    fleets: list[Fleet] = []
    stages = config.worker_stages
    for position, stage in enumerate(stages):
        most = counts[stage.name]
        start = most if start_instances is None else start_instances
        if start > most:
            raise NcapError(f"--start-instances {start}: more than the {most} workers of {_stage_label(stage)}")
        group = stack.outputs[names.in_stage(names.WORKER_GROUP_OUTPUT, stage.name)]
        instances(aws, group, start)
        following = stages[position + 1] if position + 1 < len(stages) else None
        starter = _worker_starter(config, stack, pipeline_dir, folder, identities, stage, following)
        fleet = Fleet(aws, group, most, starter, folder, _log_prefix(stage))
        fleets.append(fleet)
        problem = fleet.sync()
        if problem:
            raise NcapError(problem)
    _check_workers_started(fleets)
    for fleet, stage in zip(fleets, stages):
        queue = stack.outputs[names.in_stage(names.QUEUE_OUTPUT, stage.name)]
        say(f"{len(fleet.workers)} worker agent(s) of {_stage_label(stage)} polling {queue}, each an instance "
            f"of {fleet.group} with the worker role; the workers follow the group (at most {fleet.most})")
    return fleets


def _stage_label(stage) -> str:
    return f"stage {stage.name}" if stage.name else "the pipeline"


def _log_prefix(stage) -> str:
    """worker-N.log, or worker-STAGE-N.log for a stage's workers."""
    return f"worker-{stage.name}-" if stage.name else "worker-"


def _worker_starter(config, stack: LocalStack, pipeline_dir: Path, folder: Path, identities: Identities,
                    stage, next_stage):
    """Starts the agent of one instance of `stage`'s group: its id in NCAP_INSTANCE_ID, the worker
    role's credentials in its environment (a session named after the instance, as EC2 names it)."""
    job_roles = f"arn:{stack.context.partition}:iam::{stack.context.account}:role{job_role_path(config.pipeline_name)}"
    queue = stack.outputs[names.in_stage(names.QUEUE_OUTPUT, stage.name)]
    next_queue = stack.outputs[names.in_stage(names.QUEUE_OUTPUT, next_stage.name)] if next_stage else ""
    arguments = agent_arguments(config, queue, stack.outputs[names.TOPIC_OUTPUT], job_roles, stage, next_stage,
                                next_queue)
    prefix = _log_prefix(stage)
    argv = [sys.executable, "-m", "ncap_iac.cli", *arguments, "--command-dir", str(pipeline_dir),
            "--heartbeat", str(HEARTBEAT_SECONDS), "--poll-seconds", str(POLL_SECONDS), "--grace", str(GRACE_SECONDS)]
    role = identities.role_arn(stack.context.physical_ids[names.INSTANCE_ROLE])
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}

    def start(instance: str, n: int) -> subprocess.Popen:
        env = {**base, **identities.role_environment(role, instance), "NCAP_INSTANCE_ID": instance}
        return subprocess.Popen([*argv, "--workdir", str(folder / f"{prefix}{n}")], stdin=subprocess.DEVNULL,
                                stdout=(folder / f"{prefix}{n}.log").open("ab"), stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # Ctrl-C reaches `up`, which stops them in order

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
