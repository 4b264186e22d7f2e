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
"""
from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from typing import Any

from ..errors import NcapError
from .alarms import Alarm, QueueMetrics, step_adjustment
from .group import Group, Instance
from .policy import Policy
from .result import Result, Run, Sample, build
from .trace import Job

UP, FINISH, SUBMIT, EVALUATE, IDLE = range(5)  # also the order of events at the same instant


def simulate(jobs: tuple[Job, ...], policy: Policy, boot_seconds: float) -> Result:
    """Play the trace through the policy; boot_seconds: launch until the instance can take a job."""
    if not jobs:
        raise NcapError("no jobs to simulate")
    if not (math.isfinite(boot_seconds) and boot_seconds >= 0):
        raise NcapError(f"boot seconds must be a finite number >= 0, got {boot_seconds}")
    return _Simulation(jobs, policy, float(boot_seconds)).play()


class _Simulation:
    """One play of a trace: the event queue, the job queue, the group and the alarms' state."""

    def __init__(self, jobs: tuple[Job, ...], policy: Policy, boot_s: float):
        self.jobs, self.policy, self.boot_s = jobs, policy, boot_s
        self.events: list[tuple[float, int, int, object]] = []
        self.queue: deque[int] = deque()
        self.group = Group(policy, self._schedule_up)
        self.metrics = QueueMetrics(policy.period_seconds)
        self.scale_out_alarm, self.idle_alarm = Alarm(policy.evaluation_periods), Alarm(policy.idle_periods)
        self.waits: list[float] = [0.0] * len(jobs)
        self.runs: list[Run] = []
        self.series: list[Sample] = []
        self.done = 0
        self.order = itertools.count()  # ties in time and kind: first scheduled, first handled

    def play(self) -> Result:
        self._start()
        now = 0.0
        while self.events and not self._settled():
            now, kind, _, payload = heapq.heappop(self.events)
            self.metrics.advance(now)
            self._handle(kind, now, payload)
            self._dispatch(now)
            self.metrics.observe(len(self.queue), self.group.running_jobs())
            self._sample(now)
        return build(self.jobs, self.policy, self.waits, self.runs, self.group.all, self.series, now)

    def _start(self) -> None:
        batches: dict[float, list[int]] = {}
        for index, job in enumerate(self.jobs):
            batches.setdefault(job.submit_s, []).append(index)
        for submit_s, indexes in batches.items():
            self._push(submit_s + self.policy.request_latency_s, SUBMIT, indexes)
        if self.policy.mode == "queue":
            self.group.set_desired(0.0, self.policy.min_size)
            self._push(self.policy.period_seconds + self.policy.metric_delay_s, EVALUATE, 0)
        self._sample(0.0)

    def _push(self, when: float, kind: int, payload: object) -> None:
        heapq.heappush(self.events, (when, kind, next(self.order), payload))

    def _handle(self, kind: int, now: float, payload: object) -> None:
        handlers: dict[int, Callable[[float, Any], None]] = {
            UP: self._up, FINISH: self._finish, SUBMIT: self._submit, EVALUATE: self._evaluate, IDLE: self._idle}
        handler = handlers[kind]
        handler(now, payload)

    def _settled(self) -> bool:
        floor = self.policy.min_size if self.policy.mode == "queue" else 0
        return self.done == len(self.jobs) and len(self.group.live) == floor and self.group.desired <= floor

    def _schedule_up(self, instance: Instance) -> None:
        self._push(instance.launched + self.boot_s, UP, instance)

    def _up(self, now: float, instance: Instance) -> None:
        if instance.terminated is None:
            instance.up, instance.idle_since = True, now
            self._idle_later(instance, now)

    def _submit(self, now: float, indexes: list[int]) -> None:
        self.queue.extend(indexes)
        if self.policy.mode == "per-job":
            self._launch_for_waiting(now)
        elif self.policy.request_on_submit:
            needed = math.ceil((self.group.running_jobs() + len(self.queue)) / self.policy.concurrency)
            self.group.set_desired(now, max(self.group.desired, min(self.policy.max_size, needed)))

    def _launch_for_waiting(self, now: float) -> None:
        """NCAP: one new instance per waiting job, while fewer than max_size run."""
        while len(self.group.live) < self.policy.max_size and len(self.queue) > self.group.booting():
            self.group.launch(now)

    def _finish(self, now: float, instance: Instance) -> None:
        instance.end_job(now)
        self.done += 1
        if self.policy.mode == "per-job":
            self.group.terminate(instance, now)
            self._launch_for_waiting(now)
        elif instance.running == 0 and self.group.over_desired():
            self.group.terminate(instance, now)
        elif instance.running == 0:
            self._idle_later(instance, now)

    def _evaluate(self, now: float, period: int) -> None:
        visible, in_flight = self.metrics.datapoint(period)
        if self.scale_out_alarm.update(visible >= self.policy.scale_out[0][0]):
            add = step_adjustment(self.policy.scale_out, visible)
            self.group.set_desired(now, max(self.group.desired, self.group.warm(now) + add))
        if self.idle_alarm.update(visible + in_flight == 0) and not self.group.warming(now):
            self.group.set_desired(now, self.policy.min_size)
        self._push(now + self.policy.period_seconds, EVALUATE, period + 1)

    def _idle_later(self, instance: Instance, now: float) -> None:
        if self.policy.mode == "queue" and self.policy.idle_exit_seconds is not None:
            self._push(now + self.policy.idle_exit_seconds, IDLE, (instance, now))

    def _idle(self, now: float, payload: tuple[Instance, float]) -> None:
        """The worker's idle exit: still idle since then, and the group may shrink."""
        instance, idle_since = payload
        if instance.terminated is None and instance.idle_since == idle_since:
            self.group.leave(instance, now)

    def _dispatch(self, now: float) -> None:
        while self.queue:
            instance = self.group.free_slot()
            if instance is None:
                return
            index = self.queue.popleft()
            instance.start_job(now)
            job = self.jobs[index]
            self.waits[index] = now - job.submit_s
            self.runs.append(Run(index, instance.id, now, now + job.duration_s))
            self._push(now + job.duration_s, FINISH, instance)

    def _sample(self, now: float) -> None:
        sample = Sample(now, len(self.group.live), len(self.queue))
        if not self.series or (self.series[-1].instances, self.series[-1].queued) != (sample.instances, sample.queued):
            self.series.append(sample)
