"""What an hour of the instance costs in the ledger: the on-demand list price, or on a Spot
instance EC2's Spot price history for its type and zone (read with a signed call of the agent's
own), with the on-demand price as the upper bound when the history cannot be read."""
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ncap_iac.local.metadata import Instance as MetadataInstance
from ncap_iac.local.metadata import MetadataService
from ncap_iac.worker import background
from ncap_iac.worker.instance import Metadata, spot_zone
from ncap_iac.worker.spot_price import (
    ON_DEMAND,
    SPOT_HISTORY,
    SPOT_UNREAD,
    Prices,
    history_reader,
    price_in_effect,
)

from .helpers import WRITE_RESULT, cloud, context, decisions, handle  # noqa: F401
from .test_ledger import ledger

# A DescribeSpotPriceHistory answer of the shape the EC2 API reference documents (recorded by
# hand, not fetched: these machines cannot reach EC2): two zones, the price changing at 09:10.
HISTORY = b"""<?xml version="1.0" encoding="UTF-8"?>
<DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <spotPriceHistorySet>
    <item><instanceType>g4dn.xlarge</instanceType><productDescription>Linux/UNIX</productDescription>
      <spotPrice>0.210400</spotPrice><timestamp>2026-12-07T09:10:00.000Z</timestamp>
      <availabilityZone>us-east-1a</availabilityZone></item>
    <item><instanceType>g4dn.xlarge</instanceType><productDescription>Linux/UNIX</productDescription>
      <spotPrice>0.198700</spotPrice><timestamp>2026-12-07T06:41:12.000Z</timestamp>
      <availabilityZone>us-east-1a</availabilityZone></item>
    <item><instanceType>g4dn.xlarge</instanceType><productDescription>Linux/UNIX</productDescription>
      <spotPrice>0.305000</spotPrice><timestamp>2026-12-07T08:00:00.000Z</timestamp>
      <availabilityZone>us-east-1b</availabilityZone></item>
  </spotPriceHistorySet>
</DescribeSpotPriceHistoryResponse>"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_price_in_effect_is_the_latest_record_of_the_zone_at_or_before_the_moment():
    assert price_in_effect(HISTORY, "g4dn.xlarge", "us-east-1a", at("2026-12-07T09:00:00")) == 0.1987
    assert price_in_effect(HISTORY, "g4dn.xlarge", "us-east-1a", at("2026-12-07T09:10:00")) == 0.2104
    assert price_in_effect(HISTORY, "g4dn.xlarge", "us-east-1b", at("2026-12-07T09:00:00")) == 0.305


def test_a_history_without_a_record_for_the_moment_is_an_error():
    with pytest.raises(ValueError, match="no Spot price for g4dn.xlarge in us-east-1a"):
        price_in_effect(HISTORY, "g4dn.xlarge", "us-east-1a", at("2026-12-07T06:00:00"))
    with pytest.raises(ValueError, match="p3.2xlarge"):
        price_in_effect(HISTORY, "p3.2xlarge", "us-east-1a", at("2026-12-07T10:00:00"))


def test_the_signed_call_reaches_ec2_and_its_answer_is_read(moto_server):
    """Against the moto server: the request is signed and routed as botocore's would be, and the
    answer parsed. moto answers every Spot price history with a fixed $0.00001 dated 2006."""
    import boto3

    credentials = boto3.session.Session().get_credentials().get_frozen_credentials
    read = history_reader(credentials, "us-east-1", "g4dn.xlarge", "us-east-1a")
    assert read(datetime.now(UTC)) == 0.00001


def test_prices_are_on_demand_without_a_history_and_spot_with_one():
    on_demand = Prices(0.526).at(datetime.now(UTC))
    assert (on_demand.hourly_usd, on_demand.source) == (0.526, ON_DEMAND)
    asked = []
    prices = Prices(0.526, lambda moment: asked.append(moment) or 0.21)
    first = prices.at(at("2026-12-07T09:05:00"))
    assert (first.hourly_usd, first.source) == (0.21, SPOT_HISTORY)
    prices.at(at("2026-12-07T09:55:00"))  # the same hour: asked once
    prices.at(at("2026-12-07T10:01:00"))
    assert len(asked) == 2


def test_a_history_that_cannot_be_read_books_the_on_demand_price_and_says_so(decisions):
    def refused(moment):
        raise PermissionError("denied")

    price = Prices(0.526, refused).at(datetime.now(UTC))
    assert (price.hourly_usd, price.source) == (0.526, SPOT_UNREAD)
    assert decisions.named("spot-price-unread")


def test_a_spot_instance_books_its_attempts_at_the_spot_price(cloud, decisions, tmp_path):
    cloud.submit("j1")
    ctx = context(cloud, WRITE_RESULT, tmp_path, instance_type="g4dn.xlarge", hourly_price_usd=0.526)
    ctx = replace(ctx, prices=Prices(0.526, lambda moment: 0.2104))
    assert handle(ctx, cloud.receive()) == "success"
    background.settle()
    [entry] = ledger()
    assert entry["hourly_price_usd"] == 0.2104 and entry["price_source"] == SPOT_HISTORY
    assert entry["cost_usd"] == 0.2104 * entry["seconds"] / 3600


@pytest.mark.parametrize("life_cycle, zone", [("spot", "us-east-1a"), ("on-demand", None)])
def test_the_agent_reads_whether_its_instance_is_spot_from_the_metadata_service(life_cycle, zone):
    service = MetadataService("us-east-1", "123456789012")
    try:
        service.add(MetadataInstance("i-0abc", "g4dn.xlarge", "worker-role", dict, lambda: "InService",
                                     life_cycle=life_cycle))
        assert spot_zone(Metadata(service.endpoint("i-0abc"))) == zone
    finally:
        service.stop()


def test_a_history_that_cannot_be_read_books_the_tables_spot_estimate_when_there_is_one(decisions):
    from ncap_iac.worker.spot_price import SPOT_ESTIMATE

    def refused(moment):
        raise PermissionError("denied")

    price = Prices(0.526, refused, spot_estimate_usd=0.2039).at(datetime.now(UTC))
    assert (price.hourly_usd, price.source) == (0.2039, SPOT_ESTIMATE)
    assert "estimate" in SPOT_ESTIMATE and "could not be read" in SPOT_ESTIMATE


class _Instance:
    def __init__(self, instance_type, spot_zone):
        self.instance_type, self.spot_zone = instance_type, spot_zone


@pytest.mark.parametrize("own, zone, expected", [
    ("g5.xlarge", None, ("g5.xlarge", 1.006, None)),  # on demand: its own type's list price
    ("g5.xlarge", "us-east-1a", ("g5.xlarge", 1.006, 0.436)),  # Spot: its own type's history, then estimate
    ("g6.xlarge", None, ("g6.xlarge", 0.526, None)),  # a type --hourly-prices lacks: its own name, the workers' price
])
def test_an_instance_of_a_group_of_several_types_books_its_own_type(own, zone, expected):
    from ncap_iac.worker.agent import prices_of
    from ncap_iac.worker.settings import Settings, hourly_prices_of

    settings = Settings(queue_url="q", bucket="b", region="us-east-1", command="true",
                        job_roles="arn:aws:iam::123456789012:role/x/", instance_type="g4dn.xlarge",
                        hourly_price_usd=0.526, hourly_prices=hourly_prices_of("g4dn.xlarge=0.526:0.2039,"
                                                                               "g5.xlarge=1.006:0.436"))

    class Clients:
        credentials = None

    prices = prices_of(settings, Clients(), _Instance(own, zone))
    assert (prices.instance_type, prices.on_demand_usd, prices.spot_estimate_usd) == expected
    assert (prices.spot_history is not None) == (zone is not None)
