"""`ncap prices update`: rebuild the offline price table (ncap_iac/price_table.json) from the AWS
Price List API with the user's credentials: every instance type's on-demand Linux price (shared
tenancy) in every commercial region, dated. The Price List API is global and answers from
us-east-1; it needs pricing:GetProducts."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from .. import prices
from ..aws.price_list import PRICE_LIST_REGION, on_demand_prices
from ..errors import NcapError
from ..regions import REGIONS, partition

SOURCE = "the AWS Price List API (pricing:GetProducts; AmazonEC2, on demand, Linux, shared tenancy)"


def commercial_regions() -> list[str]:
    return [region for region in REGIONS if partition(region) == "aws"]


def update(pricing, regions: list[str], out: Path, say) -> dict:
    """Fetch each region's prices and write the table to `out`; the table."""
    unknown = sorted(set(regions) - set(REGIONS))
    if unknown:
        raise NcapError(f"--regions: unknown region(s) {', '.join(unknown)}")
    found = {}
    for n, region in enumerate(regions, start=1):
        found[region] = dict(sorted(on_demand_prices(pricing, region=region).get(region, {}).items()))
        say(f"[{n}/{len(regions)}] {region}: {len(found[region])} instance types")
    today = datetime.now(UTC)
    kept = {region: found[region] for region in sorted(found) if found[region]}
    table = {"as_of": today.strftime("%Y-%m"), "written": today.strftime("%Y-%m-%d"), "source": SOURCE,
             "notes": {"all": f"Rebuilt by `ncap prices update` from {SOURCE} on {today:%Y-%m-%d}."},
             "regions": kept, **carried_over(out)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    prices.table.cache_clear()
    say(f"wrote {out}: {sum(len(t) for t in kept.values())} prices in {len(kept)} regions, as of {table['as_of']}")
    return table


CARRIED = ("spot", "ebs")  # sections the on-demand Price List query does not rebuild: kept as they were


def carried_over(out: Path) -> dict:
    """The table's Spot estimates and volume prices, from the file being replaced (else the
    packaged table), which the update does not fetch."""
    try:
        previous = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = prices.table()
    return {key: previous[key] for key in CARRIED if isinstance(previous, dict) and key in previous}


def default_out() -> Path:
    return Path(prices.__file__).with_name(prices.TABLE_FILE)


def pricing_client():
    import boto3

    return boto3.session.Session().client("pricing", region_name=PRICE_LIST_REGION)
