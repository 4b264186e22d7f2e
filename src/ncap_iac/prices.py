"""On-demand hourly prices (USD, Linux, shared tenancy) of instance types, by region: the offline
table `price_table.json` beside this module, with its date, source and notes in the file.

`ncap prices update` rebuilds the table from the AWS Price List API (with the user's credentials).
A price the table lacks is not fatal: with budgets, `ncap deploy` asks the Price List API for it;
a pipeline that needs an exact figure sets Workers.HourlyPriceUSD, which overrides the table.

Pure data and a few lookups, imported by the config checks, the template and the cost simulator alike,
so that a budget, a submission's estimate and a simulated month use the same figure. The table also
holds Spot estimates for some GPU types (`spot_estimate`: the simulator's default Spot price ratio, and
the worker agent's fallback when EC2's Spot price history cannot be read) and the gp3 volume price
(`gp3_gb_month`: what a warm pool's stopped instances pay), each with its source in the file; a type or
region they lack is None, never a guess.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

TABLE_FILE = "price_table.json"


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath(TABLE_FILE).read_text("utf-8"))


def __getattr__(name: str) -> Any:
    """AS_OF, WRITTEN, SOURCE and PRICES, read from the table when first asked for."""
    fields = {"AS_OF": "as_of", "WRITTEN": "written", "SOURCE": "source", "PRICES": "regions"}
    if name in fields:
        return table()[fields[name]]
    raise AttributeError(name)


def hourly_price(instance_type: str, region: str, override: float | None = None) -> float | None:
    """The hourly price to use: `override` (Workers.HourlyPriceUSD) when given, else the table's
    figure for the type in the region, else None."""
    if override is not None:
        return float(override)
    return table()["regions"].get(region, {}).get(instance_type)


def described(instance_type: str, region: str, override: float | None = None) -> str:
    """Where the price comes from, for messages: "$0.90/h (p2.xlarge in us-east-1, list price as of 2024-06)"."""
    price = hourly_price(instance_type, region, override)
    if price is None:
        return f"no price for {instance_type} in {region}"
    origin = "Workers.HourlyPriceUSD" if override is not None else f"list price as of {table()['as_of']}"
    return f"${price:g}/h ({instance_type} in {region}, {origin})"


def spot_estimate(instance_type: str, region: str) -> float | None:
    """The table's Spot estimate (USD per hour) for the type in the region: the median over the region's
    availability zones of a public catalog's Spot prices (the table's "spot" section says which); None
    when the table has none."""
    return table().get("spot", {}).get("regions", {}).get(region, {}).get(instance_type)


def spot_ratio(instance_type: str, region: str) -> float | None:
    """The Spot estimate over the table's on-demand price of the same type and region; None when either is missing."""
    spot, on_demand = spot_estimate(instance_type, region), hourly_price(instance_type, region)
    return spot / on_demand if spot is not None and on_demand else None


def gp3_gb_month(region: str) -> float | None:
    """The gp3 storage price in USD per GB-month (billed per second over a 30-day month); None when unknown."""
    return table().get("ebs", {}).get("gp3_usd_per_gb_month", {}).get(region)
