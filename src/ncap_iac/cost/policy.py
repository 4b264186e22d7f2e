"""The scaling settings a simulation plays, and how a pipeline's config maps onto them.

Field names follow the config model (Workers.min_size/max_size, Scaling.*), so that what is
simulated is what `ncap compile` would deploy. Two modes:

- "queue": the product's worker group. Jobs wait on the queue; CloudWatch alarms on the queue
  drive step scaling out and back to min_size; optionally the submit function asks for capacity
  as soon as a submission arrives (request_on_submit) and idle workers leave on their own
  (idle_exit_seconds).
- "per-job": NCAP's behaviour. The submit function launches one instance per job, which boots,
  runs that job and terminates; at most max_size run at once, later jobs wait in order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import NcapError
from ..prices import AS_OF, PRICES

if TYPE_CHECKING:
    from ..config.model import StackConfig

MODES = ("queue", "per-job")
# On-demand price of p2.xlarge (the default instance type) in us-east-1, USD per hour.
P2_XLARGE_US_EAST_1_USD = PRICES["us-east-1"]["p2.xlarge"]
# The idle exit chosen with benchmarks/scaling.py (its sweep prints the figures): with request_on_submit,
# a worker that finds no job for this long leaves. 30 s is the shortest setting at which the agent behaves
# as modelled: it long-polls 20 s at a time, so it still makes one whole empty poll after its last job and
# takes a job queued meanwhile. Longer only buys idle time on a trace of NCAP's shape, where batches come
# hours apart: about +1.2 % of the lower bound per extra 60 s, with the same waits.
RECOMMENDED_IDLE_EXIT_SECONDS = 30.0


@dataclass(frozen=True)
class Policy:
    """How capacity follows the jobs. Defaults are today's step scaling (one instance per alarm
    period while jobs are queued, five-minute warm-up, back to zero after 15 idle minutes)."""

    mode: str = "queue"
    min_size: int = 0
    max_size: int = 100
    concurrency: int = 1  # jobs one instance runs at once
    hourly_price_usd: float = P2_XLARGE_US_EAST_1_USD
    period_seconds: int = 60
    evaluation_periods: int = 1
    scale_out: tuple[tuple[int, int], ...] = ((1, 1),)  # (queued jobs at least, instances to add)
    warmup_seconds: float = 300.0
    scale_in_after_idle_minutes: int = 15
    request_on_submit: bool = False
    request_latency_s: float = 2.0  # upload -> the submit function has queued the jobs (and asked)
    idle_exit_seconds: float | None = None
    metric_delay_s: float = 60.0  # a period's end -> its SQS datapoint is in and the alarm acts

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise NcapError(f"scaling policy: {problem}")

    @property
    def idle_periods(self) -> int:
        """Periods the idle alarm waits: ScaleInAfterIdleMinutes in whole periods, as the template has it."""
        return max(1, self.scale_in_after_idle_minutes * 60 // self.period_seconds)


def _problem(p: Policy) -> str | None:
    """The first setting that makes no sense, said plainly; None when all are usable."""
    numbers = (p.hourly_price_usd, p.warmup_seconds, p.request_latency_s, p.metric_delay_s,
               p.idle_exit_seconds or 0.0)
    checks = [
        (p.mode in MODES, f"mode must be one of {', '.join(MODES)}, got {p.mode!r}"),
        (0 <= p.min_size <= p.max_size and p.max_size >= 1, "need 0 <= min_size <= max_size and max_size >= 1"),
        (p.concurrency >= 1, "concurrency must be 1 or more"),
        (p.mode == "queue" or (p.concurrency, p.min_size) == (1, 0),
         "per-job mode launches one instance per job: concurrency must be 1 and min_size 0"),
        (all(math.isfinite(n) and n >= 0 for n in numbers), "prices, delays and seconds must be finite and >= 0"),
        (p.period_seconds > 0 and p.evaluation_periods >= 1, "period_seconds and evaluation_periods must be >= 1"),
        (p.scale_in_after_idle_minutes >= 1, "scale_in_after_idle_minutes must be 1 or more"),
        (_steps_ok(p.scale_out), "scale_out needs steps (queued_jobs >= 1, add_instances >= 1), thresholds rising"),
    ]
    return next((message for ok, message in checks if not ok), None)


def _steps_ok(steps: tuple[tuple[int, int], ...]) -> bool:
    thresholds = [threshold for threshold, _ in steps]
    return (bool(steps) and all(threshold >= 1 and add >= 1 for threshold, add in steps)
            and thresholds == sorted(set(thresholds)))


def policy_from_config(config: StackConfig, hourly_price_usd: float | None = None) -> Policy:
    """The policy a compiled pipeline runs: its group size, alarms and step scaling, and the submit
    function's capacity request (which the template turns on whenever jobs launch instances).

    The price is `hourly_price_usd` when given, else the config's (Workers.HourlyPriceUSD, else the
    price table, ncap_iac.prices: the figure the submit function prices submissions with). The
    launch template starts the agent without --concurrency, so one job per instance; its idle exit
    is Scaling.WorkerIdleExitSeconds (0: off).
    """
    scaling, workers = config.scaling, config.workers
    if not workers.launch:
        raise NcapError("Lambda.LambdaConfig.LAUNCH is false: the worker group's MaxSize is 0, so no job ever "
                        "runs and there is no cost to simulate")
    price = hourly_price_usd if hourly_price_usd is not None else workers.hourly_price_usd
    if price is None:
        raise NcapError(f"no hourly price for {workers.instance_type} in {config.region} (not in the price table "
                        f"of {AS_OF}): set Workers.HourlyPriceUSD, or pass --hourly-price")
    return Policy(
        mode="queue", min_size=workers.min_size, max_size=workers.max_size, concurrency=1,
        hourly_price_usd=price, period_seconds=scaling.period_seconds,
        evaluation_periods=scaling.evaluation_periods,
        scale_out=tuple((step.queued_jobs, step.add_instances) for step in scaling.scale_out),
        warmup_seconds=scaling.warmup_seconds, scale_in_after_idle_minutes=scaling.scale_in_after_idle_minutes,
        request_on_submit=True, idle_exit_seconds=float(scaling.worker_idle_exit_seconds) or None)
