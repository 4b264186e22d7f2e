"""On-demand hourly prices (USD, Linux, shared tenancy) of the instance types labs run, by region.

Source: the public Amazon EC2 On-Demand pricing pages (https://aws.amazon.com/ec2/pricing/on-demand/,
and https://aws.amazon.com/ec2/previous-generation/ for p2). AS_OF says when the figures were listed
there; they were written down on WRITTEN without network access, from those pages as known then, not
fetched from the AWS Price List API. The us-east-1 figures were compared with a public copy of the
price list; the others were not. Prices change: a pipeline that needs an exact figure sets
Workers.HourlyPriceUSD, which overrides this table. A type missing from a region here is either not
offered there (p2 in eu-central-1) or not known to this table: both mean "no price".

Pure data and one lookup, imported by the config checks, the template and the cost simulator alike,
so that a budget, a submission's estimate and a simulated month use the same figure.
"""
from __future__ import annotations

AS_OF = "2024-06"
WRITTEN = "2026-12-01"
SOURCE = "https://aws.amazon.com/ec2/pricing/on-demand/ (Linux, on-demand, shared tenancy)"

# us-east-1, us-east-2 and us-west-2 list the same price for every type below.
_US = {
    "p2.xlarge": 0.90, "p2.8xlarge": 7.20, "p2.16xlarge": 14.40,
    "p3.2xlarge": 3.06, "p3.8xlarge": 12.24, "p3.16xlarge": 24.48,
    "g4dn.xlarge": 0.526, "g4dn.2xlarge": 0.752, "g4dn.4xlarge": 1.204, "g4dn.8xlarge": 2.176,
    "g4dn.12xlarge": 3.912,
    "g5.xlarge": 1.006, "g5.2xlarge": 1.212, "g5.4xlarge": 1.624, "g5.8xlarge": 2.448, "g5.12xlarge": 5.672,
    "m5.large": 0.096, "m5.xlarge": 0.192, "m5.2xlarge": 0.384, "m5.4xlarge": 0.768,
    "r5.large": 0.126, "r5.xlarge": 0.252, "r5.2xlarge": 0.504, "r5.4xlarge": 1.008,
    "t2.micro": 0.0116, "t2.small": 0.023, "t2.medium": 0.0464, "t2.large": 0.0928, "t2.xlarge": 0.1856,
    "t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832, "t3.xlarge": 0.1664,
}

PRICES: dict[str, dict[str, float]] = {
    "us-east-1": _US,
    "us-east-2": _US,
    "us-west-2": _US,
    "eu-west-1": {
        "p2.xlarge": 0.972, "p2.8xlarge": 7.776, "p2.16xlarge": 15.552,
        "p3.2xlarge": 3.305, "p3.8xlarge": 13.22, "p3.16xlarge": 26.44,
        "g4dn.xlarge": 0.587, "g4dn.2xlarge": 0.838, "g4dn.4xlarge": 1.343, "g4dn.8xlarge": 2.427,
        "g4dn.12xlarge": 4.363,
        "g5.xlarge": 1.123, "g5.2xlarge": 1.353, "g5.4xlarge": 1.813, "g5.8xlarge": 2.733, "g5.12xlarge": 6.332,
        "m5.large": 0.107, "m5.xlarge": 0.214, "m5.2xlarge": 0.428, "m5.4xlarge": 0.856,
        "r5.large": 0.141, "r5.xlarge": 0.282, "r5.2xlarge": 0.564, "r5.4xlarge": 1.128,
        "t2.micro": 0.0126, "t2.small": 0.025, "t2.medium": 0.05, "t2.large": 0.101, "t2.xlarge": 0.202,
        "t3.micro": 0.0114, "t3.small": 0.0228, "t3.medium": 0.0456, "t3.large": 0.0912, "t3.xlarge": 0.1824,
    },
    "eu-central-1": {  # no p2 in Frankfurt
        "p3.2xlarge": 3.823, "p3.8xlarge": 15.292, "p3.16xlarge": 30.584,
        "g4dn.xlarge": 0.658, "g4dn.2xlarge": 0.94, "g4dn.4xlarge": 1.505, "g4dn.8xlarge": 2.72,
        "g4dn.12xlarge": 4.89,
        "g5.xlarge": 1.258, "g5.2xlarge": 1.515, "g5.4xlarge": 2.03, "g5.8xlarge": 3.06, "g5.12xlarge": 7.09,
        "m5.large": 0.115, "m5.xlarge": 0.23, "m5.2xlarge": 0.46, "m5.4xlarge": 0.92,
        "r5.large": 0.152, "r5.xlarge": 0.304, "r5.2xlarge": 0.608, "r5.4xlarge": 1.216,
        "t2.micro": 0.0134, "t2.small": 0.0268, "t2.medium": 0.0536, "t2.large": 0.1072, "t2.xlarge": 0.2144,
        "t3.micro": 0.012, "t3.small": 0.024, "t3.medium": 0.048, "t3.large": 0.096, "t3.xlarge": 0.192,
    },
    "ap-northeast-1": {
        "p2.xlarge": 1.542, "p2.8xlarge": 12.336, "p2.16xlarge": 24.672,
        "p3.2xlarge": 4.194, "p3.8xlarge": 16.776, "p3.16xlarge": 33.552,
        "g4dn.xlarge": 0.71, "g4dn.2xlarge": 1.015, "g4dn.4xlarge": 1.625, "g4dn.8xlarge": 2.938,
        "g4dn.12xlarge": 5.281,
        "g5.xlarge": 1.459, "g5.2xlarge": 1.757, "g5.4xlarge": 2.355, "g5.8xlarge": 3.55, "g5.12xlarge": 8.224,
        "m5.large": 0.124, "m5.xlarge": 0.248, "m5.2xlarge": 0.496, "m5.4xlarge": 0.992,
        "r5.large": 0.152, "r5.xlarge": 0.304, "r5.2xlarge": 0.608, "r5.4xlarge": 1.216,
        "t2.micro": 0.0152, "t2.small": 0.0304, "t2.medium": 0.0608, "t2.large": 0.1216, "t2.xlarge": 0.2432,
        "t3.micro": 0.0136, "t3.small": 0.0272, "t3.medium": 0.0544, "t3.large": 0.1088, "t3.xlarge": 0.2176,
    },
}


def hourly_price(instance_type: str, region: str, override: float | None = None) -> float | None:
    """The hourly price to use: `override` (Workers.HourlyPriceUSD) when given, else the table's
    figure for the type in the region, else None."""
    if override is not None:
        return float(override)
    return PRICES.get(region, {}).get(instance_type)


def described(instance_type: str, region: str, override: float | None = None) -> str:
    """Where the price comes from, for messages: "$0.90/h (p2.xlarge in us-east-1, list price as of 2024-06)"."""
    price = hourly_price(instance_type, region, override)
    if price is None:
        return f"no price for {instance_type} in {region}"
    origin = "Workers.HourlyPriceUSD" if override is not None else f"list price as of {AS_OF}"
    return f"${price:g}/h ({instance_type} in {region}, {origin})"
