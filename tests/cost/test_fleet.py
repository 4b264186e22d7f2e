"""A config's Spot and warm-pool settings as the simulator plays them, with the figures they are priced at."""
from __future__ import annotations

import dataclasses
import json

import pytest

from ncap_iac.config import load
from ncap_iac.config.model import WarmPool as WarmPoolConfig
from ncap_iac.cost.fleet import MONTH_S, Spot, WarmPool, capacity_from_config
from ncap_iac.errors import NcapError

from conftest import example_config


def config_with(tmp_path, workers: dict | None = None, scaling: dict | None = None, region: str = "us-east-1"):
    """The local demo's config with these Workers and Scaling settings, loaded."""
    doc = json.loads(example_config("local-demo").read_text())
    doc.pop("$schema", None)
    doc["REGION"] = region
    doc["Workers"].update({"InstanceType": "g4dn.xlarge", "MaxSize": 20, "VolumeSizeGiB": 100, **(workers or {})})
    doc["Scaling"].update(scaling or {})
    path = tmp_path / "stack_config.json"
    path.write_text(json.dumps(doc))
    return load(path)


SPOT_OVER_TYPES = {"Spot": {"InstanceTypes": ["g4dn.xlarge", "g5.xlarge"], "MaxInterruptions": 3,
                            "OnDemandBaseCapacity": 1}}


def test_spot_over_types_falls_back_after_max_interruptions_at_the_tables_spot_ratio(tmp_path):
    found = capacity_from_config(config_with(tmp_path, SPOT_OVER_TYPES), interruptions_per_hour=0.05, seed=9)
    assert found.spot == Spot(price_ratio=0.2039 / 0.526, interruptions_per_hour=0.05, max_interruptions=3,
                              on_demand_base=1, seed=9)
    assert found.warm_pool is None and found.spot.falls_back
    assert found.notes == ("Spot price: the price table's Spot estimate for g4dn.xlarge in us-east-1, $0.2039/h",)


def test_the_ratio_flag_wins_and_spot_true_requeues_on_spot(tmp_path):
    found = capacity_from_config(config_with(tmp_path, {"Spot": True}), spot_price_ratio=0.25)
    assert (found.spot.price_ratio, found.spot.max_interruptions, found.notes) == (0.25, None, ())
    assert not found.spot.falls_back


def test_a_type_without_a_spot_estimate_is_priced_at_on_demand_and_says_so(tmp_path):
    workers = {"InstanceType": "p2.xlarge", "AMI": "ami-0123456789abcdef0", "Spot": True}
    found = capacity_from_config(config_with(tmp_path, workers))
    assert found.spot.price_ratio == 1.0
    assert "no Spot estimate for p2.xlarge in us-east-1" in found.notes[0] and "--spot-price-ratio" in found.notes[0]


def test_on_demand_workers_have_no_spot_and_the_warm_pool_pays_gp3_for_their_volumes(tmp_path):
    found = capacity_from_config(config_with(tmp_path, scaling={"WarmPool": {"Size": 4}}), warm_start_seconds=30.0)
    assert found.spot is None
    assert found.warm_pool == WarmPool(size=4, warm_start_s=30.0, volume_gib=100.0, gb_month_usd=0.08)
    assert found.warm_pool.volume_usd(MONTH_S) == pytest.approx(4 * 100 * 0.08)  # a 30-day month


def test_a_region_without_a_gp3_price_is_priced_at_us_east_1s_and_says_so(tmp_path):
    found = capacity_from_config(config_with(tmp_path, scaling={"WarmPool": {"Size": 1}}, region="eu-west-1"))
    assert found.warm_pool.gb_month_usd == 0.08
    assert found.notes == ("no gp3 price for eu-west-1 in the price table: the warm pool's volumes are priced at "
                           "us-east-1's $0.08 per GB-month",)


def test_spot_true_with_a_warm_pool_is_refused(tmp_path):
    """The config checks refuse it; a config built past them is refused here too."""
    config = config_with(tmp_path, {"Spot": True})
    with_pool = dataclasses.replace(config, scaling=dataclasses.replace(config.scaling, warm_pool=WarmPoolConfig(2)))
    with pytest.raises(NcapError, match="no warm pool for a group of Spot instances"):
        capacity_from_config(with_pool)


@pytest.mark.parametrize("settings, message", [
    ({"price_ratio": 0.0}, "above 0 and at most 1"),
    ({"price_ratio": 1.5}, "above 0 and at most 1"),
    ({"price_ratio": 0.3, "interruptions_per_hour": -1.0}, "interruptions per hour"),
    ({"price_ratio": 0.3, "max_interruptions": -1}, "max interruptions"),
    ({"price_ratio": 0.3, "on_demand_base": -1}, "on-demand base"),
])
def test_spot_settings_that_make_no_sense_are_refused(settings, message):
    with pytest.raises(NcapError, match=message):
        Spot(**settings)


def test_a_warm_pool_of_no_instances_is_refused():
    with pytest.raises(NcapError, match="size must be 1 or more"):
        WarmPool(size=0)
