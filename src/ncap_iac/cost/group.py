"""The worker group in the model: desired capacity, instances, launches and terminations.

The EC2 Auto Scaling rules modelled here (Amazon EC2 Auto Scaling User Guide):
- Desired capacity always lies in [MinSize, MaxSize]: "a scaling adjustment can't change the capacity
  of the group above the maximum group size or below the minimum group size" (as-scaling-simple-step,
  "Scaling adjustment types"). The group launches or terminates instances to match it at once; the
  time EC2 takes to start an instance is part of the boot seconds.
- Scale-in protection (ec2-auto-scaling-instance-protection): a worker protects its instance while it
  runs a job, so scale-in terminates only instances with no job (booting or idle). When only protected
  instances are left, desired capacity is lowered anyway and the group terminates each instance as soon
  as its protection ends ("Could not scale to desired capacity because all remaining instances are
  protected from scale-in"). Among unprotected instances the newest goes first (a booting instance has
  done no work yet); AWS's default termination policy first balances Availability Zones, which this
  model does not have.
- A worker leaving on its own calls TerminateInstanceInAutoScalingGroup with
  ShouldDecrementDesiredCapacity, which is refused below MinSize: so an idle exit never takes the group
  below min_size.
- A warm pool (Pool) keeps `size` instances beside the group that are not part of its capacity: each is
  launched into the pool, initialises (running, billed) and is stopped. A scale-out takes stopped pool
  instances first (oldest first; one still initialising is not taken), and the pool launches a new
  instance for each one taken, so that it holds `size` instances again at once. Instances scaled in
  are terminated, not returned to the pool: ReuseOnScaleIn is off (AWS's default), and since the pool
  is refilled the moment an instance leaves it, it is never short when one scales in.
"""
from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .policy import Policy


@dataclass
class Instance:
    """One instance: launched, then up (can take jobs) boot seconds later, until terminated."""

    id: int
    launched: float
    running: int = 0  # jobs running on it now
    up: bool = False
    idle_since: float | None = None  # when it last had no job (None while booting or busy)
    busy_since: float = 0.0
    busy_s: float = 0.0  # seconds with at least one job
    terminated: float | None = None
    spot: bool = False  # a Spot instance: EC2 may interrupt it
    rate: float = 1.0  # the share of the on-demand price it is billed at
    free: bool = False  # interrupted by EC2 within an hour of its launch: not billed
    stints: list[tuple[float, float]] = field(default_factory=list)  # warm pool: running stretches before this one
    in_service: bool = True  # False while in a warm pool (initialising or stopped)
    warm_start: bool = False  # taken from a warm pool: up after the warm start, not a boot

    def start_job(self, now: float) -> None:
        if self.running == 0:
            self.busy_since, self.idle_since = now, None
        self.running += 1

    def end_job(self, now: float) -> None:
        self.running -= 1
        if self.running == 0:
            self.busy_s += now - self.busy_since
            self.idle_since = now


class Group:
    """Instances of one worker group and its desired capacity.

    on_launch(instance) is called for each new instance, so the caller can schedule it coming up.
    """

    def __init__(self, policy: Policy, on_launch: Callable[[Instance], None], ids: Iterator[int] | None = None):
        self.policy = policy
        self.desired = 0
        self.live: dict[int, Instance] = {}
        self.all: list[Instance] = []  # every instance it ever had, its warm pool's included
        self.pool: Pool | None = None
        self._on_launch = on_launch
        self._ids = ids if ids is not None else itertools.count()  # shared when a simulation has two groups

    def set_desired(self, now: float, value: int) -> None:
        """Clamp to [min_size, max_size], then launch or scale in to match."""
        self.desired = max(self.policy.min_size, min(self.policy.max_size, value))
        while len(self.live) < self.desired:
            self.launch(now)
        unprotected = sorted((i for i in self.live.values() if i.running == 0), key=lambda i: -i.id)
        for instance in unprotected[:max(0, len(self.live) - self.desired)]:
            self.terminate(instance, now)

    def launch(self, now: float) -> Instance:
        """A new instance in service: from the warm pool when it has one stopped, else launched."""
        instance = self.pool.take(now) if self.pool else None
        if instance is None:
            instance = self.new_instance(now)
        self.live[instance.id] = instance
        self._on_launch(instance)
        return instance

    def new_instance(self, now: float) -> Instance:
        instance = Instance(id=next(self._ids), launched=now)
        self.all.append(instance)
        return instance

    def terminate(self, instance: Instance, now: float) -> None:
        instance.terminated = now
        del self.live[instance.id]

    def leave(self, instance: Instance, now: float) -> bool:
        """An idle worker terminates its own instance, lowering desired capacity by one; refused (False)
        at min_size, as TerminateInstanceInAutoScalingGroup with ShouldDecrementDesiredCapacity is."""
        if instance.running or self.desired <= self.policy.min_size:
            return False
        self.desired -= 1
        self.terminate(instance, now)
        return True

    def over_desired(self) -> bool:
        return len(self.live) > self.desired

    def warm(self, now: float) -> int:
        """Instances whose warm-up is over: the current capacity step scaling adds to."""
        return sum(1 for i in self.live.values() if i.launched + self.policy.warmup_seconds <= now)

    def warming(self, now: float) -> bool:
        return any(i.launched + self.policy.warmup_seconds > now for i in self.live.values())

    def booting(self) -> int:
        return sum(1 for i in self.live.values() if not i.up)

    def running_jobs(self) -> int:
        return sum(i.running for i in self.live.values())

    def free_slot(self) -> Instance | None:
        """The first instance (oldest) that is up and has room for another job."""
        for instance in self.live.values():
            if instance.up and instance.running < self.policy.concurrency:
                return instance
        return None


class Pool:
    """A warm pool of `size` instances beside a group. on_fill(instance) is called for each instance
    launched into it, so that the caller can schedule the end of its initialisation (stopped())."""

    def __init__(self, group: Group, size: int, on_fill: Callable[[Instance], None]):
        self.group, self.size, self._on_fill = group, size, on_fill
        self.stopped_ones: deque[Instance] = deque()
        self.initialising = 0

    def fill(self, now: float) -> None:
        while len(self.stopped_ones) + self.initialising < self.size:
            instance = self.group.new_instance(now)
            instance.in_service = False
            self.initialising += 1
            self._on_fill(instance)

    def stopped(self, instance: Instance, now: float) -> None:
        """Initialised: stopped into the pool; its running stretch so far is billed."""
        instance.stints.append((instance.launched, now))
        self.initialising -= 1
        self.stopped_ones.append(instance)

    def take(self, now: float) -> Instance | None:
        """The oldest stopped instance, started again (in service from now), and a new one launched into the pool."""
        if not self.stopped_ones:
            return None
        instance = self.stopped_ones.popleft()
        instance.launched, instance.in_service, instance.warm_start = now, True, True
        self.fill(now)
        return instance
