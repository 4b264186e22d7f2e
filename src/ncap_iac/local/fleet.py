"""The local cloud's workers follow the worker group, as instances do on AWS: one `ncap worker`
process per instance the group has in service (at most `most` at once), started when the group
gains an instance (the submit function raised its desired capacity, or `up` did at start), and
stopped when its instance leaves the group (the agent's own idle exit terminates it; a scale-in
would too). An agent killed by a signal (the machine's OOM killer, a test that kills workers mid-job)
is an instance that died: its instance is terminated without lowering the desired capacity, so that
the group replaces it and a new agent starts, as on AWS. An agent that exits by itself while its
instance is still in service has failed: `up` stops, unless Spot interrupted the instance (`ncap
local interrupt`): the agent returned its job and stopped, and EC2 reclaims the instance, so it is
terminated without lowering the desired capacity and the group replaces it (capacity rebalance)."""
from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..aws.clients import Aws
from .instances import interrupted, interruption_marker

Start = Callable[[str, int], subprocess.Popen]  # (instance id, worker number) -> the agent's process


@dataclass
class Worker:
    number: int
    instance: str
    process: subprocess.Popen
    stopped: bool = False  # sent SIGTERM because its instance left the group


@dataclass
class Fleet:
    aws: Aws
    group: str
    most: int
    start: Start
    logs: Path  # the workers' log files are here (the state folder: interruptions/ too)
    prefix: str = "worker-"  # worker N logs into PREFIX + N + ".log"
    workers: list[Worker] = field(default_factory=list)
    started: int = 0

    def log(self, number: int) -> Path:
        return self.logs / f"{self.prefix}{number}.log"

    def in_service(self) -> list[str]:
        autoscaling = self.aws.client("autoscaling")
        [found] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[self.group])["AutoScalingGroups"]
        return sorted(i["InstanceId"] for i in found["Instances"] if i["LifecycleState"] == "InService")

    def sync(self) -> str | None:
        """Match the processes to the group's instances now; a problem that stops `up`, or None."""
        instances = set(self.in_service())
        for worker in list(self.workers):
            code = worker.process.poll()
            if code is None:
                if worker.instance not in instances and not worker.stopped:
                    worker.process.send_signal(signal.SIGTERM)  # its instance is gone: let it hand back its job
                    worker.stopped = True
                continue
            self.workers.remove(worker)
            if worker.instance in instances and interrupted(self.logs, worker.instance):
                self.reclaim(worker)
                instances.discard(worker.instance)
            elif worker.instance in instances and code < 0 and not worker.stopped:
                self.replace(worker, -code)
            elif worker.instance in instances and code != 0:
                return f"worker {worker.number} exited (code {code}; see {self.log(worker.number)}); shutting down"
        served = {w.instance for w in self.workers}
        for instance in sorted(instances - served):
            if len(self.workers) >= self.most:
                break
            self.workers.append(Worker(self.started, instance, self.start(instance, self.started)))
            self.started += 1
        return None

    def replace(self, worker: Worker, signal_number: int) -> None:
        """The instance of an agent killed by a signal goes; the group launches another."""
        with self.log(worker.number).open("a", encoding="utf-8") as log:
            log.write(f"ncap local: this agent was killed by signal {signal_number}; its instance "
                      f"{worker.instance} is replaced\n")
        self.aws.client("autoscaling").terminate_instance_in_auto_scaling_group(
            InstanceId=worker.instance, ShouldDecrementDesiredCapacity=False)

    def reclaim(self, worker: Worker) -> None:
        """A Spot instance whose agent stopped at the interruption notice: EC2 takes it back."""
        with self.log(worker.number).open("a", encoding="utf-8") as log:
            log.write(f"ncap local: Spot reclaims instance {worker.instance}; the group replaces it\n")
        self.aws.client("autoscaling").terminate_instance_in_auto_scaling_group(
            InstanceId=worker.instance, ShouldDecrementDesiredCapacity=False)
        interruption_marker(self.logs, worker.instance).unlink(missing_ok=True)

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers]

    @property
    def processes(self) -> list[subprocess.Popen]:
        return [w.process for w in self.workers]
