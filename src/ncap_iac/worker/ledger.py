"""The ledger of spend: each attempt's seconds on this instance, at its hourly price, written into
the pipeline bucket's `ledger/MONTH/LAB/` (ledger.ledger_key) with the instance role, outside
every lab's folders. The submit function sums a lab's month from it before it queues a job, and
`ncap cost report` reads it. Written in the background; a write that fails is logged, never fails
the job (the budget is a limit on new submissions, not on running work)."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from ..lambda_repo.ncap_lambda.ledger import ledger_entry, ledger_key
from . import background
from .aws import describe
from .log import decision


def record(ctx, task, delivery, seconds: float) -> None:
    """Write one attempt's entry (when the agent knows its instance's price)."""
    s = ctx.settings
    if s.hourly_price_usd is None or s.instance_type is None:
        return
    finished = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    key = ledger_key(task.affiliate, task.job_id, task.dataname, finished, delivery.receive_count,
                     delivery.message_id)
    entry = ledger_entry(task.affiliate, task.job_id, task.dataname, s.instance_type, s.hourly_price_usd,
                         seconds, finished, delivery.receive_count)
    background.submit("ledger", _put, ctx.clients.s3, s.bucket, key, entry)


def _put(s3, bucket: str, key: str, entry: dict) -> None:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(entry, sort_keys=True).encode(),
                      ContentType="application/json")
    except Exception as error:
        decision("ledger-failed", logging.WARNING, key=key, error=describe(error))
