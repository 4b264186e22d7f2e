"""`ncap cost estimate`: a month of a simple workload played through the simulator.

The workload is N jobs of M minutes a month, submitted B at a time, the submissions evenly spread
over 30 days (workload.even_trace). The simulator (not a closed form) prices it, so that the
instances' boots, their idle minutes before they leave and the 60 s billing minimum are in the
monthly figure, set against the lower bound (the jobs' run time at the hourly price)."""
from __future__ import annotations

from dataclasses import dataclass

from ..config.model import StackConfig
from .fleet import Capacity, capacity_lines
from .policy import policy_from_config
from .result import Result
from .simulate import simulate
from .workload import even_trace

DAYS = 30


@dataclass(frozen=True)
class Workload:
    jobs_per_month: int
    minutes: float
    batch: int = 1
    boot_seconds: float = 180.0


@dataclass(frozen=True)
class Estimate:
    pipeline: str
    instance_type: str
    workload: Workload
    result: Result
    budget_usd: float | None  # the labs' monthly total, when every lab has a budget
    max_size: int
    capacity: Capacity | None = None  # Spot and the warm pool, as simulated

    @property
    def fits_the_month(self) -> bool:
        """False when the group at MaxSize cannot run the month's work within the month."""
        w = self.workload
        return w.jobs_per_month * w.minutes * 60.0 <= self.max_size * DAYS * 86400.0

    def as_json(self) -> dict:
        w = self.workload
        return {**self.result.as_json(), "pipeline": self.pipeline, "instance_type": self.instance_type,
                "jobs_per_month": w.jobs_per_month, "minutes": w.minutes, "batch": w.batch,
                "boot_s": w.boot_seconds, "days": DAYS, "budget_usd": self.budget_usd,
                "fits_the_month": self.fits_the_month}


def estimate(config: StackConfig, workload: Workload, hourly_price_usd: float | None = None,
             capacity: Capacity | None = None) -> Estimate:
    """capacity: the config's Spot group and warm pool (fleet.capacity_from_config); None plays on-demand workers."""
    trace = even_trace(workload.jobs_per_month, workload.minutes, workload.batch, DAYS)
    spot, pool = (capacity.spot, capacity.warm_pool) if capacity else (None, None)
    result = simulate(trace, policy_from_config(config, hourly_price_usd), workload.boot_seconds, spot, pool)
    return Estimate(config.pipeline_name, config.workers.instance_type, workload, result,
                    config.pipeline_budget_usd, config.workers.max_size, capacity)


def estimate_lines(found: Estimate) -> list[str]:
    w, r = found.workload, found.result
    idle = f" ({r.idle_share:.0%} of the cost)" if r.cost_usd else ""
    lines = [
        (f"{found.pipeline}: {w.jobs_per_month} jobs a month of {w.minutes:g} min, {w.batch} per submission, "
         f"submissions evenly spread over {DAYS} days; {found.instance_type} at ${r.hourly_price_usd:g}/h, "
         f"boot {w.boot_seconds:g} s"),
        f"monthly cost:      ${r.cost_usd:.2f} ({r.cost_ratio:.2f} x the lower bound)",
        f"idle and boots:    ${r.idle_usd:.2f}{idle}",
        f"lower bound:       ${r.lower_bound_usd:.2f} (the jobs' run time at the hourly price)",
        f"instance-hours:    {r.instance_hours:.2f}",
        f"most instances:    {r.max_instances}",
        f"wait p50:          {r.wait_p50_s:.0f} s",
        f"wait p95:          {r.wait_p95_s:.0f} s",
    ]
    if found.budget_usd is not None:
        share = f" ({r.cost_usd / found.budget_usd:.0%} of it)" if found.budget_usd else ""
        lines.append(f"labs' budgets:     ${found.budget_usd:.2f} a month{share}")
    if found.capacity is not None:
        lines += capacity_lines(found.capacity, r)
    lines.append("method:            the cost simulator (as `ncap cost simulate`) over a synthetic month")
    if not found.fits_the_month:
        lines.append(f"warning: {found.max_size} instances at most (Workers.MaxSize) cannot run "
                     f"{w.jobs_per_month * w.minutes / 60:.0f} instance-hours in {DAYS} days: jobs queue into "
                     f"the next month, and the cost above is of all of them")
    return lines
