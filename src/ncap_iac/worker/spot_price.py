"""What an hour of this instance costs, for the ledger: the on-demand price the agent was given
(--hourly-price-usd, the price table's figure) or, on a Spot instance, EC2's Spot price history for
its type and availability zone at the time asked (ec2:DescribeSpotPriceHistory, which the worker
role may call when a stage uses Spot).

EC2 bills a Spot instance per second at the Spot price in effect; the agent prices an attempt at
the price in effect when it started (Spot prices change a few times a day at most) and keeps each
hour's answer. A price it cannot read is not fatal: the attempt is booked at the on-demand price,
an upper bound of what Spot costs, and the entry says so.

The request is a signed EC2 Query call of the agent's own: the EC2 model is not in the agent
bundle (half a megabyte for one call)."""
from __future__ import annotations

import logging
import os
import threading
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from .aws import describe
from .log import decision

ON_DEMAND = "on-demand list price"
SPOT_HISTORY = "EC2 Spot price history"
SPOT_UNREAD = "on-demand list price (the Spot price history could not be read)"
SPOT_ESTIMATE = "the price table's Spot estimate (the Spot price history could not be read)"
EC2_API_VERSION = "2016-11-15"
PRODUCTS = ("Linux/UNIX", "Linux/UNIX (Amazon VPC)")
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Price:
    hourly_usd: float
    source: str  # ON_DEMAND, SPOT_HISTORY or SPOT_UNREAD: written with each ledger entry


class Prices:
    """This instance's hourly price at a given time. `spot_history(moment)` gives the Spot price in
    effect then (None: an on-demand instance)."""

    def __init__(self, on_demand_usd: float, spot_history: Callable[[datetime], float] | None = None,
                 spot_estimate_usd: float | None = None, instance_type: str | None = None):
        self.on_demand_usd, self.spot_history = float(on_demand_usd), spot_history
        self.spot_estimate_usd = spot_estimate_usd  # used when the history cannot be read
        self.instance_type = instance_type  # the instance's own type, when it is one of several
        self._lock = threading.Lock()
        self._hours: dict[str, Price] = {}

    def at(self, moment: datetime) -> Price:
        if self.spot_history is None:
            return Price(self.on_demand_usd, ON_DEMAND)
        hour = moment.strftime("%Y-%m-%dT%H")
        with self._lock:
            if hour not in self._hours:
                self._hours[hour] = self._read(self.spot_history, moment)
            return self._hours[hour]

    def _read(self, spot_history: Callable[[datetime], float], moment: datetime) -> Price:
        try:
            return Price(spot_history(moment), SPOT_HISTORY)
        except Exception as error:  # priced at the table's estimate, else the upper bound, said in the entry
            decision("spot-price-unread", logging.WARNING, error=describe(error))
            if self.spot_estimate_usd is not None:
                return Price(self.spot_estimate_usd, SPOT_ESTIMATE)
            return Price(self.on_demand_usd, SPOT_UNREAD)


def history_reader(credentials: Callable[[], object], region: str, instance_type: str, zone: str,
                   endpoint: str | None = None) -> Callable[[datetime], float]:
    """A reader of the Spot price in effect at a moment for `instance_type` in `zone`, asking EC2
    (or `endpoint`: AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL, as botocore reads them) with the
    credentials `credentials()` gives (botocore frozen credentials)."""
    url = endpoint or os.environ.get("AWS_ENDPOINT_URL_EC2") or os.environ.get("AWS_ENDPOINT_URL") \
        or f"https://ec2.{region}.amazonaws.com/"

    def read(moment: datetime) -> float:
        stamp = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        params = {"Action": "DescribeSpotPriceHistory", "Version": EC2_API_VERSION,
                  "InstanceType.1": instance_type, "AvailabilityZone": zone, "StartTime": stamp, "EndTime": stamp,
                  **{f"ProductDescription.{n}": product for n, product in enumerate(PRODUCTS, start=1)}}
        body = _signed_post(url, urllib.parse.urlencode(params), credentials(), region)
        return price_in_effect(body, instance_type, zone, moment)
    return read


def _signed_post(url: str, form: str, credentials, region: str) -> bytes:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    body = form.encode()
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(credentials, "ec2", region).add_auth(request)
    sent = urllib.request.Request(url, data=body, headers=dict(request.headers), method="POST")
    with urllib.request.urlopen(sent, timeout=TIMEOUT_SECONDS) as reply:
        return reply.read()


def price_in_effect(body: bytes, instance_type: str, zone: str, moment: datetime) -> float:
    """The Spot price in effect at `moment` in a DescribeSpotPriceHistory answer: the latest record
    of the type (in the zone, when the answer names zones) at or before it. ValueError if none."""
    found: list[tuple[datetime, float]] = []
    for item in ElementTree.fromstring(body).iter():
        if _local(item.tag) != "item":
            continue
        fields = {_local(child.tag): (child.text or "").strip() for child in item}
        if fields.get("instanceType") != instance_type or "spotPrice" not in fields:
            continue
        if fields.get("availabilityZone") not in (None, "", zone):
            continue
        when = _timestamp(fields.get("timestamp", ""))
        if when is not None and when <= moment:
            found.append((when, float(fields["spotPrice"])))
    if not found:
        raise ValueError(f"no Spot price for {instance_type} in {zone} at {moment:%Y-%m-%dT%H:%M:%SZ}")
    return max(found)[1]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _timestamp(text: str) -> datetime | None:
    """An EC2 timestamp ("2026-12-07T10:00:00.000Z", any fraction) as a UTC datetime."""
    try:
        return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
