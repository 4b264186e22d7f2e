"""A deterministic discrete-event model of one worker group's capacity over a job trace.

Events, in time order (at the same instant: instances coming up and jobs finishing first, then
submissions, then alarm evaluations, then idle workers leaving, so that a free worker takes a job
that arrives the instant it would have left):

- a submission reaches the submit function request_latency_s after the upload; its jobs join the
  queue in order. In "queue" mode with request_on_submit the function then sets desired capacity to
  at least min(max_size, instances needed for running + queued jobs) (SetDesiredCapacity). In
  "per-job" mode it launches one instance per job while fewer than max_size run (NCAP).
- an instance launched at t can take jobs from t + boot_seconds; a queued job goes to the first
  free slot (jobs in order, instances oldest first), as many at once as `concurrency`.
- a job ends duration_s after it started; its instance takes the next queued job at once. In
  "per-job" mode the instance terminates instead. In "queue" mode an instance left with no job while
  the group is above desired capacity is terminated (its scale-in protection is over).
- alarm evaluations (queue mode), once per period (see alarms.py): the scale-out alarm (Maximum of
  visible messages >= the first step, for evaluation_periods periods) runs the step scaling policy,
  ChangeInCapacity: desired = max(desired, warm instances + the step's instances). Instances still
  in their warm-up do not count as capacity to add to, and desired already includes them, so repeated
  alarms for the same step add nothing until warm-up ends (as-scaling-simple-step, "Instance warmup":
  "multiple alarm breaches that fall in the range of the same step adjustment result in a single
  scaling activity"). The idle alarm (visible + in flight == 0 for scale_in_after_idle_minutes) runs
  ExactCapacity min_size; dynamic scale-in waits while any instance is still warming up
  (ec2-auto-scaling-default-instance-warmup: warm-up "blocks scale-in activities for dynamic scaling
  until instances finish warming up").
- with idle_exit_seconds, a worker with no job for that long terminates its own instance and
  lowers desired capacity by one (never below min_size, never while it runs a job).

The simulation ends when every job is done and the group is back at min_size.

Spot (fleet.Spot), with these AWS rules and sources:
- Interruptions: a Poisson process per Spot instance, `interruptions_per_hour` per instance-hour while it
  runs (booting, busy or idle), drawn from random.Random(seed) at its launch, so one seed always gives
  one result. An interruption is EC2's two-minute notice ("Spot Instance interruption notices": the
  warning comes two minutes before EC2 stops or terminates the instance); interrupted Spot instances are
  terminated, the default interruption behaviour ("Behavior of Spot Instance interruptions").
- At the notice the worker gives its job up: the work is lost and the dataset is queued again as a new
  message, at the back of its queue (as SQS does with a message sent now), counting the interruption; at
  max_interruptions it goes to the on-demand group's queue instead, where Spot cannot interrupt it, and
  the worker asks that group for capacity as the submit function asks the Spot group (when the policy
  requests capacity on submit; else that group's alarms act). The instance takes no further job.
- Capacity Rebalancing: the group replaces the interrupted instance at the notice (desired capacity
  unchanged; CreateAutoScalingGroup CapacityRebalance: Auto Scaling launches a Spot Instance when EC2
  says one is at risk, then terminates the old one).
- Billing ("Billing for interrupted Spot Instances", EC2 User Guide): Linux instances EC2 interrupts in
  their first hour are not charged; interrupted after it, they are charged for the seconds used. The
  interrupted instance runs until the notice ends, so it is billed (at the Spot price ratio) from launch
  to notice + 120 s unless that is within an hour of its launch.
- OnDemandBaseCapacity: while fewer than that many of the Spot group's instances are on-demand, a new
  one is on-demand (the on-demand price, never interrupted).
Warm pools (fleet.WarmPool): see group.Pool; an instance taken from the pool can take a job
warm_start_s after, instead of boot_seconds; one launched into the pool runs (billed) for boot_seconds,
then is stopped and pays only its volume.
A job never lost means every job finishes; one still queued or running when the simulation stops (at
HORIZON_S after the last submission, should Spot keep interrupting) is counted in jobs_lost.
"""
from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..errors import NcapError
from .alarms import Alarm, QueueMetrics, step_adjustment
from .fleet import Spot, WarmPool
from .group import Group, Instance, Pool
from .policy import Policy
from .result import CapacityFigures, Result, Run, Sample, build
from .trace import Job

# The order of events at the same instant (the first five as before Spot and warm pools were modelled).
UP, FINISH, SUBMIT, EVALUATE, IDLE, NOTICE, GONE, POOLED = range(8)
NOTICE_S = 120.0  # a Spot interruption notice comes two minutes before EC2 terminates the instance
FREE_IF_INTERRUPTED_WITHIN_S = 3600.0  # EC2 does not charge a Linux Spot instance it interrupts in its first hour
HORIZON_S = 90 * 86400.0  # after the last submission: jobs still unfinished then are lost


def simulate(jobs: tuple[Job, ...], policy: Policy, boot_seconds: float, spot: Spot | None = None,
             warm_pool: WarmPool | None = None) -> Result:
    """Play the trace through the policy; boot_seconds: launch until the instance can take a job.
    With `spot` the group is Spot (and, when it falls back, has an on-demand group beside it); with
    `warm_pool` the on-demand group (the only group without Spot) keeps a warm pool."""
    if not jobs:
        raise NcapError("no jobs to simulate")
    if not (math.isfinite(boot_seconds) and boot_seconds >= 0):
        raise NcapError(f"boot seconds must be a finite number >= 0, got {boot_seconds}")
    if (spot or warm_pool) and policy.mode != "queue":
        raise NcapError("Spot and warm pools are modelled for the queue-driven group only, not per-job launches")
    if spot and warm_pool and not spot.falls_back:
        raise NcapError("AWS keeps no warm pool for a group of Spot instances: with Spot over types the pool "
                        "belongs to the on-demand group")
    return _Simulation(jobs, policy, float(boot_seconds), spot, warm_pool).play()


class _Lane:
    """One worker group and the queue that feeds it: the stage's group, or its on-demand group."""

    def __init__(self, name: str, policy: Policy, spot: Spot | None, on_launch: Callable[[Instance], None],
                 ids: itertools.count):
        self.name, self.policy, self.spot = name, policy, spot  # spot None: on-demand instances only
        self.queue: deque[int] = deque()
        self.group = Group(policy, on_launch, ids)
        self.metrics = QueueMetrics(policy.period_seconds)
        self.scale_out_alarm, self.idle_alarm = Alarm(policy.evaluation_periods), Alarm(policy.idle_periods)
        self.leaving = 0  # interrupted instances still in their two-minute notice

    def settled(self) -> bool:
        floor = self.policy.min_size if self.policy.mode == "queue" else 0
        pool = self.group.pool
        return (len(self.group.live) == floor and self.group.desired <= floor and not self.leaving
                and (pool is None or not pool.initialising))

    def request(self, now: float) -> None:
        """SetDesiredCapacity to cover the running and queued jobs, never lowering it."""
        needed = math.ceil((self.group.running_jobs() + len(self.queue)) / self.policy.concurrency)
        self.group.set_desired(now, max(self.group.desired, min(self.policy.max_size, needed)))


class _Simulation:
    """One play of a trace: the event queue, the groups with their queues and alarms, and the jobs' state."""

    def __init__(self, jobs: tuple[Job, ...], policy: Policy, boot_s: float, spot: Spot | None,
                 warm_pool: WarmPool | None):
        self.jobs, self.policy, self.boot_s, self.spot, self.warm_pool = jobs, policy, boot_s, spot, warm_pool
        self.events: list[tuple[float, int, int, object]] = []
        ids = itertools.count()
        first = _Lane("spot" if spot else "on-demand", policy, spot, lambda i: self._launched(first, i), ids)
        self.lanes = [first]
        if spot and spot.falls_back:
            fallback = _Lane("on-demand", replace(policy, min_size=0), None,
                             lambda i: self._launched(fallback, i), ids)
            self.lanes.append(fallback)
        if warm_pool:
            lane = self.lanes[-1]
            lane.group.pool = Pool(lane.group, warm_pool.size, lambda i: self._push(i.launched + boot_s, POOLED, i))
        self.rng = random.Random(spot.seed) if spot else None
        self.waits: list[float] = [0.0] * len(jobs)
        self.queued_at = [job.submit_s for job in jobs]  # when each job last joined a queue
        self.interrupts = [0] * len(jobs)
        self.finished_on: list[str | None] = [None] * len(jobs)
        self.current: dict[int, tuple[Instance, int]] = {}  # job -> (its instance, its run's index in runs)
        self.runs: list[Run] = []
        self.series: list[Sample] = []
        self.done = self.interruptions = self.fallbacks = 0
        self.horizon = max(job.submit_s for job in jobs) + HORIZON_S
        self.order = itertools.count()  # ties in time and kind: first scheduled, first handled

    @property
    def group(self) -> Group:
        return self.lanes[0].group

    def play(self) -> Result:
        self._start()
        now = 0.0
        while self.events and not self._settled():
            if self.events[0][0] > self.horizon:
                now = self.horizon
                break
            now, kind, _, payload = heapq.heappop(self.events)
            for lane in self.lanes:
                lane.metrics.advance(now)
            self._handle(kind, now, payload)
            self._dispatch(now)
            for lane in self.lanes:
                lane.metrics.observe(len(lane.queue), lane.group.running_jobs())
            self._sample(now)
        for _, run in self.current.values():  # stopped at the horizon: runs still going end there, unfinished
            self.runs[run] = replace(self.runs[run], end=min(self.runs[run].end, now))
        instances = sorted((i for lane in self.lanes for i in lane.group.all), key=lambda i: i.id)
        return build(self.jobs, self.policy, self.waits, self.runs, instances, self.series, now, self._figures(now))

    def _figures(self, end: float) -> CapacityFigures | None:
        if not (self.spot or self.warm_pool):
            return None
        interrupted = [i for i, count in enumerate(self.interrupts) if count]
        limit = self.spot.max_interruptions if self.spot else None
        return CapacityFigures(
            spot_price_ratio=self.spot.price_ratio if self.spot else None, interruptions=self.interruptions,
            on_demand_fallbacks=self.fallbacks, jobs_lost=len(self.jobs) - self.done,
            finished_on=tuple((where, sum(1 for i in interrupted if self.finished_on[i] == where))
                              for where in ("spot", "on-demand")),
            most_interruptions=max(self.interrupts, default=0),
            fallen_back_on_spot=sum(1 for i in interrupted if limit is not None and self.interrupts[i] >= limit
                                    and self.finished_on[i] == "spot"),
            warm_pool_volume_usd=self.warm_pool.volume_usd(end) if self.warm_pool else 0.0, span_s=end)

    def _start(self) -> None:
        batches: dict[float, list[int]] = {}
        for index, job in enumerate(self.jobs):
            batches.setdefault(job.submit_s, []).append(index)
        for submit_s, indexes in batches.items():
            self._push(submit_s + self.policy.request_latency_s, SUBMIT, indexes)
        if self.policy.mode == "queue":
            for lane in self.lanes:
                lane.group.set_desired(0.0, lane.policy.min_size)
                self._push(self.policy.period_seconds + self.policy.metric_delay_s, EVALUATE, (lane, 0))
        for lane in self.lanes:
            if lane.group.pool:
                lane.group.pool.fill(0.0)
        self._sample(0.0)

    def _push(self, when: float, kind: int, payload: object) -> None:
        heapq.heappush(self.events, (when, kind, next(self.order), payload))

    def _handle(self, kind: int, now: float, payload: object) -> None:
        handlers: dict[int, Callable[[float, Any], None]] = {
            UP: self._up, FINISH: self._finish, SUBMIT: self._submit, EVALUATE: self._evaluate, IDLE: self._idle,
            NOTICE: self._notice, GONE: self._gone, POOLED: self._pooled}
        handler = handlers[kind]
        handler(now, payload)

    def _settled(self) -> bool:
        return self.done == len(self.jobs) and all(lane.settled() for lane in self.lanes)

    def _launched(self, lane: _Lane, instance: Instance) -> None:
        """A new instance in service: Spot or on-demand, its interruption drawn, its coming up scheduled."""
        if lane.spot is not None:
            on_demand = sum(1 for i in lane.group.live.values() if not i.spot and i is not instance)
            if on_demand >= lane.spot.on_demand_base:
                instance.spot, instance.rate = True, lane.spot.price_ratio
                if lane.spot.interruptions_per_hour > 0 and self.rng is not None:
                    after = self.rng.expovariate(lane.spot.interruptions_per_hour / 3600.0)
                    self._push(instance.launched + after, NOTICE, (lane, instance))
        ready = self.warm_pool.warm_start_s if instance.warm_start and self.warm_pool else self.boot_s
        self._push(instance.launched + ready, UP, (lane, instance))

    def _up(self, now: float, payload: tuple[_Lane, Instance]) -> None:
        lane, instance = payload
        if instance.id in lane.group.live:
            instance.up, instance.idle_since = True, now
            self._idle_later(lane, instance, now)

    def _submit(self, now: float, indexes: list[int]) -> None:
        lane = self.lanes[0]
        lane.queue.extend(indexes)
        if self.policy.mode == "per-job":
            self._launch_for_waiting(now)
        elif self.policy.request_on_submit:
            lane.request(now)

    def _launch_for_waiting(self, now: float) -> None:
        """NCAP: one new instance per waiting job, while fewer than max_size run."""
        lane = self.lanes[0]
        while len(lane.group.live) < self.policy.max_size and len(lane.queue) > lane.group.booting():
            lane.group.launch(now)

    def _finish(self, now: float, payload: tuple[_Lane, Instance, int, tuple[Instance, int]]) -> None:
        lane, instance, index, run = payload
        if self.current.get(index) is not run:
            return  # the run was interrupted; its job is queued again
        del self.current[index]
        instance.end_job(now)
        self.done += 1
        self.finished_on[index] = "spot" if instance.spot else "on-demand"
        group = lane.group
        if self.policy.mode == "per-job":
            group.terminate(instance, now)
            self._launch_for_waiting(now)
        elif instance.running == 0 and group.over_desired():
            group.terminate(instance, now)
        elif instance.running == 0:
            self._idle_later(lane, instance, now)

    def _evaluate(self, now: float, payload: tuple[_Lane, int]) -> None:
        lane, period = payload
        visible, in_flight = lane.metrics.datapoint(period)
        group, policy = lane.group, lane.policy
        if lane.scale_out_alarm.update(visible >= policy.scale_out[0][0]):
            add = step_adjustment(policy.scale_out, visible)
            group.set_desired(now, max(group.desired, group.warm(now) + add))
        if lane.idle_alarm.update(visible + in_flight == 0) and not group.warming(now):
            group.set_desired(now, policy.min_size)
        self._push(now + policy.period_seconds, EVALUATE, (lane, period + 1))

    def _idle_later(self, lane: _Lane, instance: Instance, now: float) -> None:
        if self.policy.mode == "queue" and self.policy.idle_exit_seconds is not None:
            self._push(now + self.policy.idle_exit_seconds, IDLE, (lane, instance, now))

    def _idle(self, now: float, payload: tuple[_Lane, Instance, float]) -> None:
        """The worker's idle exit: still idle since then, and the group may shrink."""
        lane, instance, idle_since = payload
        if instance.id in lane.group.live and instance.idle_since == idle_since:
            lane.group.leave(instance, now)

    def _notice(self, now: float, payload: tuple[_Lane, Instance]) -> None:
        """EC2 interrupts a Spot instance: its jobs are queued again, the group replaces it."""
        lane, instance = payload
        if instance.id not in lane.group.live:
            return  # it had already left
        self.interruptions += 1
        del lane.group.live[instance.id]
        for index, (on, run) in list(self.current.items()):
            if on is instance:
                self._requeue(lane, index, run, now)
                instance.end_job(now)
        lane.leaving += 1
        self._push(now + NOTICE_S, GONE, (lane, instance))
        lane.group.set_desired(now, lane.group.desired)  # capacity rebalance: a replacement at once

    def _requeue(self, lane: _Lane, index: int, run: int, now: float) -> None:
        del self.current[index]
        self.runs[run] = replace(self.runs[run], end=now, interrupted=True)
        self.interrupts[index] += 1
        self.queued_at[index] = now
        limit = lane.spot.max_interruptions if lane.spot else None
        if limit is not None and self.interrupts[index] >= limit:
            fallback = self.lanes[1]
            fallback.queue.append(index)
            self.fallbacks += 1
            if self.policy.request_on_submit:
                fallback.request(now)
        else:
            lane.queue.append(index)

    def _gone(self, now: float, payload: tuple[_Lane, Instance]) -> None:
        lane, instance = payload
        instance.terminated = now
        instance.free = now - instance.launched < FREE_IF_INTERRUPTED_WITHIN_S
        lane.leaving -= 1

    def _pooled(self, now: float, instance: Instance) -> None:
        pool = self.lanes[-1].group.pool
        if pool is not None:
            pool.stopped(instance, now)

    def _dispatch(self, now: float) -> None:
        for lane in self.lanes:
            while lane.queue:
                instance = lane.group.free_slot()
                if instance is None:
                    break
                index = lane.queue.popleft()
                instance.start_job(now)
                job = self.jobs[index]
                self.waits[index] += now - self.queued_at[index]
                self.runs.append(Run(index, instance.id, now, now + job.duration_s))
                run = (instance, len(self.runs) - 1)
                self.current[index] = run
                self._push(now + job.duration_s, FINISH, (lane, instance, index, run))

    def _sample(self, now: float) -> None:
        instances = sum(len(lane.group.live) for lane in self.lanes)
        sample = Sample(now, instances, sum(len(lane.queue) for lane in self.lanes))
        if not self.series or (self.series[-1].instances, self.series[-1].queued) != (sample.instances, sample.queued):
            self.series.append(sample)
