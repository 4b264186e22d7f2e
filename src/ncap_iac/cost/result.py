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
"""
from __future__ import annotations

from dataclasses import dataclass

from .group import Instance
from .policy import Policy
from .trace import Job

MINIMUM_BILLED_S = 60.0
SUMMARY_KEYS = ("jobs", "hourly_price_usd", "cost_usd", "lower_bound_usd", "idle_usd", "instance_hours",
                "max_instances", "wait_p50_s", "wait_p95_s", "billed_usd", "ledger_usd")


@dataclass(frozen=True)
class Run:
    """Job `job` (its index in the trace) ran on instance `instance` from start to end."""

    job: int
    instance: int
    start: float
    end: float


@dataclass(frozen=True)
class Span:
    """Instance `id` was billed from launched to until (its termination, or the end of the simulation)."""

    id: int
    launched: float
    until: float

    @property
    def billed_s(self) -> float:
        return max(MINIMUM_BILLED_S, self.until - self.launched)


@dataclass(frozen=True)
class Sample:
    """From time t on: this many instances (booting or up) and this many jobs waiting on the queue."""

    t: float
    instances: int
    queued: int


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
        """The summary figures, rounded to what they mean (cents to 4 places, seconds to 0.1)."""
        return {"jobs": self.jobs, "hourly_price_usd": self.hourly_price_usd,
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


def build(jobs: tuple[Job, ...], policy: Policy, waits: list[float], runs: list[Run],
          instances: list[Instance], series: list[Sample], end: float) -> Result:
    """Add up a finished simulation."""
    per_second = policy.hourly_price_usd / 3600
    spans = tuple(Span(i.id, i.launched, end if i.terminated is None else i.terminated) for i in instances)
    billed = sum(span.billed_s for span in spans)
    busy = sum(i.busy_s for i in instances)
    return Result(
        jobs=len(jobs), hourly_price_usd=policy.hourly_price_usd, cost_usd=billed * per_second,
        lower_bound_usd=sum(job.duration_s for job in jobs) * per_second / policy.concurrency,
        idle_usd=(billed - busy) * per_second, instance_hours=billed / 3600,
        max_instances=max((s.instances for s in series), default=0),
        wait_p50_s=nearest_rank(waits, 50), wait_p95_s=nearest_rank(waits, 95),
        waits=tuple(waits), runs=tuple(sorted(runs, key=lambda r: r.job)), instances=spans, series=tuple(series),
        ledger_by_lab=ledger(jobs, runs, spans, per_second))


def ledger(jobs: tuple[Job, ...], runs: list[Run], spans: tuple[Span, ...], per_second: float) -> tuple:
    """Each lab's share of the bill: every instance's billed seconds split among the labs whose jobs
    it ran, in proportion to their run time on it (the agent's attribution rule)."""
    by_lab: dict[str, float] = {}
    for span in spans:
        mine = [run for run in runs if run.instance == span.id]
        total = sum(run.end - run.start for run in mine)
        for run in mine:
            share = span.billed_s * (run.end - run.start) / total if total else span.billed_s / len(mine)
            by_lab[jobs[run.job].lab] = by_lab.get(jobs[run.job].lab, 0.0) + share * per_second
    return tuple(sorted(by_lab.items()))
