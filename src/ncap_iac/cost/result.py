"""What a simulated policy cost, against the lower bound, and how long jobs waited.

Billing (Amazon EC2 per-second billing, announced 2 October 2017, "Announcing Amazon EC2 per second
billing"): Linux instances are billed per second from launch to termination, with a minimum of 60
seconds per instance. Boot time is billed: it is part of idle_usd, the billed time with no job.
The ledger (the worker agents' record of spend, which budgets are checked against) adds up to that
bill: each instance's billed seconds are shared among the labs whose jobs it ran, in proportion to
each lab's run time on it (its boot, idle time and the minimum included); an instance that ran no
job is in the bill and in no lab's ledger. `billed_usd` and `ledger_usd` are the two sums.
Percentiles use the nearest-rank method: the p-th percentile of n waits is the ceil(p * n / 100)-th
smallest, always one of the waits that happened.

With Spot (fleet.Spot) an instance's seconds are billed at its `rate`, the fraction of the on-demand
price it pays (the Spot price ratio, 1 for on-demand); an instance EC2 interrupted within an hour of
its launch is not billed at all (`free`, see simulate.py). A warm-pool instance is billed for each
stretch it ran (`stints`: its initialisation before it was stopped into the pool, then its service),
each with the 60 s minimum, as EC2 bills every start of a stopped instance; while stopped only its
volume is billed, and the pool's volumes (`warm_pool_volume_usd`) are in the cost and the bill but
in no lab's ledger (no job ran on them). A job's wait is its time queued: upload to its first start,
plus, after each interruption, from being queued again to its next start.
"""
from __future__ import annotations

from dataclasses import dataclass

from .group import Instance
from .policy import Policy
from .trace import Job

MINIMUM_BILLED_S = 60.0
SUMMARY_KEYS = ("jobs", "hourly_price_usd", "cost_usd", "lower_bound_usd", "idle_usd", "instance_hours",
                "max_instances", "wait_p50_s", "wait_p95_s", "billed_usd", "ledger_usd")
# Added to the summary only when Spot or a warm pool is in play, so that other outputs stay as they were.
SPOT_KEYS = ("spot_price_ratio", "interruptions", "on_demand_fallbacks", "jobs_lost", "interrupted_jobs_finished_on",
             "most_interruptions_of_a_job", "fallen_back_jobs_finished_on_spot", "warm_pool_volume_usd")


@dataclass(frozen=True)
class Run:
    """Job `job` (its index in the trace) ran on instance `instance` from start to end."""

    job: int
    instance: int
    start: float
    end: float
    interrupted: bool = False  # Spot took the instance back at `end`: the run's work was lost


@dataclass(frozen=True)
class Span:
    """Instance `id` was billed from launched to until (its termination, or the end of the simulation)."""

    id: int
    launched: float
    until: float
    rate: float = 1.0  # the share of the on-demand price it pays: the Spot price ratio, or 1
    free: bool = False  # interrupted by EC2 in its first hour: no charge
    stints: tuple[tuple[float, float], ...] = ()  # a warm-pool instance's running stretches; () means launched..until

    @property
    def billed_s(self) -> float:
        if self.free:
            return 0.0
        return sum(max(MINIMUM_BILLED_S, end - start) for start, end in self.stints or ((self.launched, self.until),))


@dataclass(frozen=True)
class Sample:
    """From time t on: this many instances (booting or up) and this many jobs waiting on the queue."""

    t: float
    instances: int
    queued: int


@dataclass(frozen=True)
class CapacityFigures:
    """What Spot and a warm pool did in one simulation.

    interruptions: Spot interruptions of running instances (busy or not); on_demand_fallbacks: jobs
    sent to the on-demand group after their max_interruptions-th interruption; jobs_lost: jobs not
    finished when the simulation ended. finished_on: of the jobs interrupted at least once, how many
    finished on Spot and how many on on-demand capacity (the on-demand group, or the Spot group's
    on-demand base); fallen_back_on_spot counts the jobs interrupted max_interruptions times that
    still finished on Spot, which the fallback makes 0."""

    spot_price_ratio: float | None
    interruptions: int
    on_demand_fallbacks: int
    jobs_lost: int
    finished_on: tuple[tuple[str, int], ...]
    most_interruptions: int
    fallen_back_on_spot: int
    warm_pool_volume_usd: float
    span_s: float  # the simulated span: time 0 to the end, over which the pool's volumes are billed

    def as_json(self) -> dict:
        return {"spot_price_ratio": None if self.spot_price_ratio is None else round(self.spot_price_ratio, 4),
                "interruptions": self.interruptions, "on_demand_fallbacks": self.on_demand_fallbacks,
                "jobs_lost": self.jobs_lost, "interrupted_jobs_finished_on": dict(self.finished_on),
                "most_interruptions_of_a_job": self.most_interruptions,
                "fallen_back_jobs_finished_on_spot": self.fallen_back_on_spot,
                "warm_pool_volume_usd": round(self.warm_pool_volume_usd, 4)}


@dataclass(frozen=True)
class Result:
    """One policy over one trace. The lower bound is every job's run time at the instance's price
    (shared by `concurrency` jobs per instance); cost above it is boots, idle time and the 60 s minimum."""

    jobs: int
    hourly_price_usd: float
    cost_usd: float
    lower_bound_usd: float
    idle_usd: float
    instance_hours: float
    max_instances: int
    wait_p50_s: float
    wait_p95_s: float
    waits: tuple[float, ...]  # per job, in trace order: start - submit
    runs: tuple[Run, ...]
    instances: tuple[Span, ...]
    series: tuple[Sample, ...]
    ledger_by_lab: tuple[tuple[str, float], ...] = ()  # (lab, USD) the ledger attributes to each lab
    capacity: CapacityFigures | None = None  # what Spot and the warm pool did; None when neither was in play

    @property
    def billed_usd(self) -> float:
        """What EC2 bills: every instance's billed seconds (the same as cost_usd)."""
        return self.cost_usd

    @property
    def ledger_usd(self) -> float:
        return sum(usd for _, usd in self.ledger_by_lab)

    @property
    def cost_ratio(self) -> float:
        """Cost over the lower bound (1.0 is the bound itself)."""
        return self.cost_usd / self.lower_bound_usd if self.lower_bound_usd else float("inf")

    @property
    def idle_share(self) -> float:
        return self.idle_usd / self.cost_usd if self.cost_usd else 0.0

    def as_json(self) -> dict:
        """The summary figures, rounded to what they mean (cents to 4 places, seconds to 0.1); with Spot or
        a warm pool, also SPOT_KEYS."""
        extra = self.capacity.as_json() if self.capacity else {}
        return {**extra, "jobs": self.jobs, "hourly_price_usd": self.hourly_price_usd,
                "cost_usd": round(self.cost_usd, 4), "lower_bound_usd": round(self.lower_bound_usd, 4),
                "idle_usd": round(self.idle_usd, 4), "instance_hours": round(self.instance_hours, 3),
                "max_instances": self.max_instances, "wait_p50_s": round(self.wait_p50_s, 1),
                "wait_p95_s": round(self.wait_p95_s, 1), "billed_usd": round(self.billed_usd, 4),
                "ledger_usd": round(self.ledger_usd, 4)}


def nearest_rank(values: list[float] | tuple[float, ...], percent: int) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    rank = max(1, -(-percent * len(values) // 100))
    return sorted(values)[rank - 1]


def build(jobs: tuple[Job, ...], policy: Policy, waits: list[float], runs: list[Run], instances: list[Instance],
          series: list[Sample], end: float, capacity: CapacityFigures | None = None) -> Result:
    """Add up a finished simulation."""
    per_second = policy.hourly_price_usd / 3600
    spans = tuple(billing_span(i, end) for i in instances)
    billed = sum(s.billed_s * s.rate for s in spans)
    busy = sum(i.busy_s * s.rate for i, s in zip(instances, spans, strict=True) if not s.free)
    volumes = capacity.warm_pool_volume_usd if capacity else 0.0
    return Result(
        jobs=len(jobs), hourly_price_usd=policy.hourly_price_usd, cost_usd=billed * per_second + volumes,
        lower_bound_usd=sum(job.duration_s for job in jobs) * per_second / policy.concurrency,
        idle_usd=max(0.0, billed - busy) * per_second, instance_hours=sum(s.billed_s for s in spans) / 3600,
        max_instances=max((s.instances for s in series), default=0),
        wait_p50_s=nearest_rank(waits, 50), wait_p95_s=nearest_rank(waits, 95),
        waits=tuple(waits), runs=tuple(sorted(runs, key=lambda r: (r.job, r.start))), instances=spans,
        series=tuple(series), ledger_by_lab=ledger(jobs, runs, spans, per_second), capacity=capacity)


def billing_span(instance: Instance, end: float) -> Span:
    """An instance's billing: launch (or its stints) to termination, or to the end of the simulation."""
    until = end if instance.terminated is None else instance.terminated
    if not instance.stints:
        return Span(instance.id, instance.launched, until, instance.rate, instance.free)
    stints = tuple(instance.stints) + (((instance.launched, until),) if instance.in_service else ())
    return Span(instance.id, stints[0][0], stints[-1][1], instance.rate, instance.free, stints)


def ledger(jobs: tuple[Job, ...], runs: list[Run], spans: tuple[Span, ...], per_second: float) -> tuple:
    """Each lab's share of the bill: every instance's billed seconds split among the labs whose jobs
    it ran, in proportion to their run time on it (the agent's attribution rule)."""
    by_lab: dict[str, float] = {}
    for span in spans:
        mine = [run for run in runs if run.instance == span.id]
        total = sum(run.end - run.start for run in mine)
        for run in mine:
            # (billed x rate) first: with rate 1 this is the same float arithmetic as before Spot was modelled
            billed = span.billed_s * span.rate
            share = billed * (run.end - run.start) / total if total else billed / len(mine)
            by_lab[jobs[run.job].lab] = by_lab.get(jobs[run.job].lab, 0.0) + share * per_second
    return tuple(sorted(by_lab.items()))
