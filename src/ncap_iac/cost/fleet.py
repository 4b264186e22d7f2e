"""Spot capacity and warm pools as the simulator plays them, and how a pipeline's config maps onto them.

Workers.Spot as an object (Spot over several instance types, then on-demand) gives two groups: the
Spot group, fed by the stage's queue, and an on-demand group of the workers' first type, from zero,
fed by a second queue, with the same scaling; a dataset interrupted max_interruptions times goes to
the second queue. `Spot: true` is one group of Spot instances whose interrupted jobs are queued on it
again, however often. The model takes one Spot price ratio and one interruption rate for the whole
Spot group: price-capacity-optimized allocation over several types is what keeps both near these
figures, which the simulator does not derive per type.

A warm pool (Scaling.WarmPool) belongs to the on-demand group when the workers are Spot over types,
and to the only group when they are on-demand; AWS keeps none for a group with Spot instances
(PutWarmPool), so `Spot: true` with a warm pool is refused. Its stopped instances pay for their volumes:
Workers.VolumeSizeGiB at the gp3 price of the region (ncap_iac.prices.gp3_gb_month), per second over a
30-day month. Hibernated pools are played as stopped ones (the same warm start).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import prices
from ..errors import NcapError

if TYPE_CHECKING:
    from ..config.model import StackConfig
    from .result import Result

MONTH_S = 30 * 86400.0  # EBS bills storage per second over a 30-day month (its pricing page's gp3 example)
WARM_START_S = 40.0  # default seconds from a warm-pool instance's start to taking a job
PRICED_REGION = "us-east-1"  # the gp3 price used when the region's is not in the table (said so)


@dataclass(frozen=True)
class Spot:
    """The Spot group: its price as a share of the on-demand price, interruptions as a Poisson process
    per Spot instance-hour drawn from random.Random(seed), and where interrupted jobs go.

    max_interruptions None is `Spot: true`: interrupted jobs are queued on Spot again, always. Otherwise
    a job interrupted that many times goes to the on-demand group (0: at the first interruption)."""

    price_ratio: float
    interruptions_per_hour: float = 0.0
    max_interruptions: int | None = 2
    on_demand_base: int = 0  # OnDemandBaseCapacity: the group's first instances are on-demand
    seed: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.price_ratio) and 0 < self.price_ratio <= 1):
            raise NcapError(f"Spot price ratio must be above 0 and at most 1, got {self.price_ratio}")
        if not (math.isfinite(self.interruptions_per_hour) and self.interruptions_per_hour >= 0):
            raise NcapError(f"interruptions per hour must be a finite number >= 0, got {self.interruptions_per_hour}")
        if self.max_interruptions is not None and self.max_interruptions < 0:
            raise NcapError(f"max interruptions must be 0 or more, got {self.max_interruptions}")
        if self.on_demand_base < 0:
            raise NcapError(f"on-demand base capacity must be 0 or more, got {self.on_demand_base}")

    @property
    def falls_back(self) -> bool:
        """The stage has an on-demand group for jobs interrupted too often."""
        return self.max_interruptions is not None


@dataclass(frozen=True)
class WarmPool:
    """`size` instances stopped beside the group; one taken starts a job warm_start_s after, not a boot."""

    size: int
    warm_start_s: float = WARM_START_S
    volume_gib: float = 0.0
    gb_month_usd: float = 0.0

    def __post_init__(self) -> None:
        if self.size < 1:
            raise NcapError(f"warm pool size must be 1 or more, got {self.size}")
        numbers = (self.warm_start_s, self.volume_gib, self.gb_month_usd)
        if not all(math.isfinite(n) and n >= 0 for n in numbers):
            raise NcapError("warm start seconds, volume size and volume price must be finite and >= 0")

    def volume_usd(self, seconds: float) -> float:
        """What the pool's volumes cost over `seconds`: size x GiB x price per GB-month, per second."""
        return self.size * self.volume_gib * self.gb_month_usd * seconds / MONTH_S


@dataclass(frozen=True)
class Capacity:
    """What a config's Spot and warm pool settings are in the simulator, and notes on the figures used."""

    spot: Spot | None
    warm_pool: WarmPool | None
    notes: tuple[str, ...] = ()

    @property
    def in_play(self) -> bool:
        return self.spot is not None or self.warm_pool is not None


def capacity_from_config(config: StackConfig, spot_price_ratio: float | None = None,
                         interruptions_per_hour: float = 0.0, seed: int = 0,
                         warm_start_seconds: float = WARM_START_S) -> Capacity:
    """The Spot group and warm pool a compiled pipeline has. The Spot price ratio is `spot_price_ratio`
    when given, else the price table's Spot estimate for the workers' first type over its on-demand
    price, else 1 (priced at on-demand, an upper bound; a note says so)."""
    workers, notes = config.workers, []
    spot = None
    if workers.spot:
        ratio = spot_price_ratio
        if ratio is None:
            ratio = prices.spot_ratio(workers.instance_type, config.region)
            if ratio is not None:
                notes.append(f"Spot price: the price table's Spot estimate for {workers.instance_type} in "
                             f"{config.region}, ${prices.spot_estimate(workers.instance_type, config.region):g}/h")
            else:
                ratio = 1.0
                notes.append(f"no Spot estimate for {workers.instance_type} in {config.region} in the price table: "
                             f"Spot priced at on-demand (an upper bound); pass --spot-price-ratio")
        types = workers.spot_types
        spot = Spot(price_ratio=ratio, interruptions_per_hour=interruptions_per_hour,
                    max_interruptions=types.max_interruptions if types else None,
                    on_demand_base=types.on_demand_base if types else 0, seed=seed)
    pool = None
    if config.scaling.warm_pool is not None:
        if spot is not None and not spot.falls_back:
            raise NcapError("Scaling.WarmPool: AWS keeps no warm pool for a group of Spot instances (Workers.Spot "
                            "true); give Spot as an object (the pool goes to the on-demand group) or leave it out")
        price = prices.gp3_gb_month(config.region)
        if price is None:
            price = prices.gp3_gb_month(PRICED_REGION) or 0.0
            notes.append(f"no gp3 price for {config.region} in the price table: the warm pool's volumes are priced "
                         f"at {PRICED_REGION}'s ${price:g} per GB-month")
        pool = WarmPool(size=config.scaling.warm_pool.size, warm_start_s=warm_start_seconds,
                        volume_gib=float(workers.volume_size_gib), gb_month_usd=price)
    return Capacity(spot, pool, tuple(notes))


def capacity_lines(capacity: Capacity, result: Result) -> list[str]:
    """The report's lines on Spot and the warm pool (none when neither is in play)."""
    lines, spot, pool, figures = [], capacity.spot, capacity.warm_pool, result.capacity
    if spot is not None and figures is not None:
        where = (f"after {spot.max_interruptions} interruption{'' if spot.max_interruptions == 1 else 's'} a job "
                 f"goes to the on-demand group" if spot.falls_back else "interrupted jobs are queued on Spot again")
        base = f", the first {spot.on_demand_base} on-demand" if spot.on_demand_base else ""
        finished = dict(figures.finished_on)
        lines += [
            (f"spot:              {spot.price_ratio:.2f} x the on-demand price{base}, {spot.interruptions_per_hour:g} "
             f"interruptions per instance-hour (seed {spot.seed}); {where}"),
            (f"interruptions:     {figures.interruptions} ({figures.on_demand_fallbacks} job"
             f"{'' if figures.on_demand_fallbacks == 1 else 's'} sent to the on-demand group, "
             f"{figures.jobs_lost} lost)"),
            (f"interrupted jobs:  {finished['spot']} finished on Spot, {finished['on-demand']} on on-demand; "
             f"at most {figures.most_interruptions} interruption{'' if figures.most_interruptions == 1 else 's'} "
             f"of one job"),
        ]
    if pool is not None and figures is not None:
        lines.append(f"warm pool:         {pool.size} instance{'' if pool.size == 1 else 's'}, warm start "
                     f"{pool.warm_start_s:g} s; volumes ${figures.warm_pool_volume_usd:.2f} ({pool.volume_gib:g} GiB "
                     f"each at ${pool.gb_month_usd:g} per GB-month)")
    lines += [f"note:              {note}" for note in capacity.notes]
    return lines
