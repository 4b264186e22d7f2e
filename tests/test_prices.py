"""The price table: every type labs use in every common region (p2 is not offered in Frankfurt, g5
not in Singapore),
dated and sourced; the override wins; a missing pair is None, never a guess."""
import pytest

from ncap_iac import prices

TYPES = ["p2.xlarge", "p2.8xlarge", "p2.16xlarge", "p3.2xlarge", "p3.8xlarge", "p3.16xlarge",
         *[f"g4dn.{s}" for s in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge")],
         *[f"g5.{s}" for s in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge")],
         *[f"{f}.{s}" for f in ("m5", "r5") for s in ("large", "xlarge", "2xlarge", "4xlarge")],
         *[f"{f}.{s}" for f in ("t2", "t3") for s in ("micro", "small", "medium", "large", "xlarge")]]
REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-1"]
NOT_OFFERED = {"eu-central-1": "p2.", "ap-southeast-1": "g5."}


@pytest.mark.parametrize("region", REGIONS)
def test_every_type_labs_use_has_a_price_in_the_common_regions(region):
    missing = [t for t in TYPES if prices.hourly_price(t, region) is None]
    assert missing == [t for t in TYPES if region in NOT_OFFERED and t.startswith(NOT_OFFERED[region])]
    assert all(0 < prices.hourly_price(t, region) < 50 for t in TYPES if t not in missing)


def test_bigger_sizes_cost_more_and_other_regions_no_less_than_us_east_1():
    for region in REGIONS:
        table = prices.PRICES[region]
        for family in ("p3", "g4dn", "m5", "r5", "t2", "t3"):
            sizes = [price for name, price in table.items() if name.startswith(family + ".")]
            assert sizes == sorted(sizes), (region, family)
        assert all(price >= prices.PRICES["us-east-1"][name] for name, price in table.items())


def test_the_table_says_when_and_where_its_figures_come_from():
    assert prices.AS_OF == "2024-06" and prices.SOURCE.startswith("https://aws.amazon.com/ec2/pricing/")
    assert "without network access" in prices.table()["notes"]["all"]
    assert "derived" in prices.table()["notes"]["m5, r5"]
    assert "skypilot-catalog" in prices.table()["notes"]["ap-southeast-1"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-1"])
def test_the_large_general_and_memory_sizes_ncap_configs_use_are_priced(region):
    """m5 and r5 are priced in proportion to size: 16xlarge is 32 times large."""
    for family in ("m5", "r5"):
        large = prices.hourly_price(f"{family}.large", region)
        assert prices.hourly_price(f"{family}.16xlarge", region) == pytest.approx(32 * large)
        assert prices.hourly_price(f"{family}.24xlarge", region) == pytest.approx(48 * large)


def test_lookup_override_and_description():
    assert prices.hourly_price("p2.xlarge", "us-east-1") == 0.90
    assert prices.hourly_price("p2.xlarge", "us-east-1", 0.5) == 0.5
    assert prices.hourly_price("x9.huge", "us-east-1") is None
    assert prices.hourly_price("p2.xlarge", "sa-east-1") is None
    assert prices.described("p2.xlarge", "us-east-1") == "$0.9/h (p2.xlarge in us-east-1, list price as of 2024-06)"
    assert prices.described("p2.xlarge", "us-east-1", 1.0) == "$1/h (p2.xlarge in us-east-1, Workers.HourlyPriceUSD)"
    assert prices.described("x9.huge", "eu-west-1") == "no price for x9.huge in eu-west-1"
