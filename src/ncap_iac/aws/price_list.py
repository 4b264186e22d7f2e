"""On-demand prices from AWS's own source, the Price List API (pricing:GetProducts): Linux, shared
tenancy, no pre-installed software, capacity used, in USD per hour. The API answers in us-east-1
(and eu-central-1, ap-south-1) for every region. `ncap deploy` asks it for a price the offline
table lacks; `ncap prices update` rebuilds the table from it."""
from __future__ import annotations

import json

from ..errors import NcapError
from .errors import aws_errors, explain

PRICE_LIST_REGION = "us-east-1"
FIXED = {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used",
         "licenseModel": "No License required"}


def filters(instance_type: str | None = None, region: str | None = None) -> list[dict]:
    chosen = dict(FIXED, **({"instanceType": instance_type} if instance_type else {}),
                  **({"regionCode": region} if region else {}))
    return [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in sorted(chosen.items())]


def on_demand_prices(pricing, instance_type: str | None = None, region: str | None = None) -> dict:
    """{region: {instance type: USD per hour}} of every product the filters match."""
    found: dict[str, dict[str, float]] = {}
    try:
        pages = pricing.get_paginator("get_products").paginate(ServiceCode="AmazonEC2",
                                                              Filters=filters(instance_type, region))
        for page in pages:
            for text in page.get("PriceList", []):
                entry = parse_product(text)
                if entry:
                    found.setdefault(entry[1], {})[entry[0]] = entry[2]
    except aws_errors() as exc:
        raise explain(exc, "the AWS Price List API (pricing:GetProducts)") from None
    return found


def parse_product(text) -> tuple[str, str, float] | None:
    """(instance type, region, hourly USD) of one PriceList entry, or None when it has no hourly
    on-demand USD price."""
    product = json.loads(text) if isinstance(text, str) else text
    attributes = product.get("product", {}).get("attributes", {})
    kind, region = attributes.get("instanceType"), attributes.get("regionCode")
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if dimension.get("unit") == "Hrs" and usd is not None and kind and region and float(usd) > 0:
                return kind, region, float(usd)
    return None


def on_demand_price(pricing, instance_type: str, region: str) -> float:
    found = on_demand_prices(pricing, instance_type, region).get(region, {}).get(instance_type)
    if found is None:
        raise NcapError(f"the AWS Price List API has no on-demand Linux price for {instance_type} in {region}: "
                        f"set Workers.HourlyPriceUSD")
    return found
