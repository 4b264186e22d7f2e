"""The ledger of spend: each attempt's seconds on this instance, at its hourly price (spot_price.py:
the on-demand list price, or a Spot instance's price from EC2's history), written into
the pipeline bucket's `ledger/MONTH/LAB/` (ledger.ledger_key) with the instance role, outside
every lab's folders; and, when the instance goes, the rest of its bill (its boot, idle seconds and
the 60-second minimum) shared among the labs it ran jobs for (ledger.instance_entries). The
submit function sums a lab's month from it before it queues a job, and `ncap cost report` reads
it. Attempts are written in the background; a write that fails is logged, never fails the job (the
budget is a limit on new submissions, not on running work)."""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone

from ..lambda_repo.ncap_lambda.ledger import instance_entries, instance_key, ledger_entry, ledger_key
from . import background
from .aws import describe
from .log import decision


def record(ctx, task, delivery, seconds: float) -> None:
    """Write one attempt's entry (when the agent knows its instance's price), priced as of the
    attempt's start."""
    s = ctx.settings
    if ctx.prices is None or s.instance_type is None:
        return
    now = datetime.now(timezone.utc)
    price, finished = ctx.prices.at(now - timedelta(seconds=seconds)), now.strftime("%Y-%m-%dT%H:%M:%SZ")
    key = ledger_key(task.affiliate, task.job_id, task.dataname, finished, delivery.receive_count,
                     delivery.message_id)
    entry = ledger_entry(task.affiliate, task.job_id, task.dataname, ctx.prices.instance_type or s.instance_type,
                         price.hourly_usd,
                         seconds, finished, delivery.receive_count, price.source)
    ctx.spend.add(task.affiliate, seconds)
    background.submit("ledger", _put, ctx.clients.s3, s.bucket, key, entry)


class InstanceSpend:
    """Each lab's attempt seconds on this instance."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_lab: dict[str, float] = {}

    def add(self, lab: str, seconds: float) -> None:
        with self._lock:
            self._by_lab[lab] = self._by_lab.get(lab, 0.0) + seconds

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._by_lab)


def close_instance(ctx) -> None:
    """Book the rest of this instance's bill as it goes (when its launch time and price are known)."""
    s, instance = ctx.settings, ctx.instance
    if ctx.prices is None or s.instance_type is None or instance is None or instance.launched is None:
        return
    ended, price = datetime.now(timezone.utc), ctx.prices.at(instance.launched)
    entries = instance_entries(instance.instance_id, ctx.prices.instance_type or s.instance_type, price.hourly_usd,
                               instance.launched, ended,
                               ctx.spend.snapshot(), price.source)
    for lab, entry in sorted(entries.items()):
        _put(ctx.clients.s3, s.bucket, instance_key(lab, instance.instance_id, entry["finished"]), entry)
    decision("instance-booked", instance=instance.instance_id, billed_seconds=round(next(iter(entries.values()))[
        "billed_seconds"], 1), labs=sorted(entries))


def _put(s3, bucket: str, key: str, entry: dict) -> None:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(entry, sort_keys=True).encode(),
                      ContentType="application/json")
    except Exception as error:
        decision("ledger-failed", logging.WARNING, key=key, error=describe(error))
