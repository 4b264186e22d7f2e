"""The ledger: what each finished job cost, part of the job contract (the worker writes it, the
submit function and `ncap cost report` read it). Standard library only, like contract.py.

One JSON object per dataset attempt that ran on a worker, under
`ledger/<YYYY-MM>/<lab>/<job_id>/<sha256(dataname)[:16]>-<attempt>.json`, the month being the
UTC month the attempt finished in. The prefix is outside every lab's folders ("ledger" is not a
lab name the config accepts), so no lab user can write it; the worker agent writes its entries,
the submit function reads a lab's month. A dataset and attempt have a key of their own, so that
a job of several datasets, and a retried one, count every instance-second, and a worker that
writes the same entry twice (after a crash) counts it once.

What EC2 bills beyond the attempts (an instance is billed per second from launch to termination,
60 seconds at least: its boot, its idle seconds, the minimum) is booked when the instance goes,
under `ledger/<YYYY-MM>/<lab>/instances/<instance_id>.json`: the instance's billed seconds less
the attempts' seconds, shared among the labs whose jobs it ran in proportion to each lab's run
seconds on it. An instance that ran no job books its whole time under `_unattributed` (not a lab
name the config accepts), so that the month's ledger adds up to the instances' bill."""
import hashlib
import math
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from .contract import MISSING, decoded, is_error

LEDGER_PREFIX = "ledger/"
LEDGER_VERSION = 1
UNATTRIBUTED = "_unattributed"  # the instances that ran no job
MINIMUM_BILLED_SECONDS = 60.0
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
READERS = 8  # objects read at once by month_entries


def month_of(finished):
    """"2026-01-31T23:59:59Z" -> "2026-01" (ValueError for anything that is not an ISO time)."""
    month = str(finished)[:7]
    if not MONTH.match(month):
        raise ValueError(f"not an ISO time: {finished!r}")
    return month


def current_month(moment=None):
    return (moment or datetime.now(timezone.utc)).strftime("%Y-%m")


def ledger_prefix(month, lab=None):
    """`ledger/<month>/` or, for one lab, `ledger/<month>/<lab>/`."""
    if not MONTH.match(str(month)):
        raise ValueError(f"a month is YYYY-MM, got {month!r}")
    return f"{LEDGER_PREFIX}{month}/" + (f"{lab}/" if lab else "")


def ledger_key(lab, job_id, dataname, finished, attempt=1, message_id=""):
    """One attempt's key. A job queued again after an interruption is a new message whose receive
    count starts again at 1: its message id keeps its attempts apart."""
    digest = hashlib.sha256(dataname.encode("utf-8", "backslashreplace")).hexdigest()[:16]
    message = "-" + re.sub(r"[^A-Za-z0-9]", "", str(message_id))[:12] if message_id else ""
    return f"{ledger_prefix(month_of(finished), lab)}{job_id}/{digest}-{int(attempt)}{message}.json"


def ledger_entry(lab, job_id, dataname, instance_type, hourly_price_usd, seconds, finished, attempt=1,
                 price_source=None):
    """The entry of one attempt: `seconds` on an instance of `instance_type` at its hourly price
    (`price_source` says where that price came from: the on-demand list, or EC2's Spot price
    history). The cost keeps full precision (a second of a small instance is millionths of a
    dollar): only what is shown is rounded."""
    cost = float(hourly_price_usd) * float(seconds) / 3600.0
    return {"version": LEDGER_VERSION, "lab": lab, "job_id": job_id, "dataname": dataname,
            "attempt": int(attempt), "instance_type": instance_type,
            "hourly_price_usd": float(hourly_price_usd), "seconds": float(seconds), "cost_usd": cost,
            "finished": finished, **({"price_source": price_source} if price_source else {})}


def instance_key(lab, instance_id, ended):
    return f"{ledger_prefix(month_of(ended), lab)}instances/{re.sub(r'[^A-Za-z0-9-]', '', str(instance_id))}.json"


def instance_entries(instance_id, instance_type, hourly_price_usd, launched, ended, run_seconds,
                     price_source=None):
    """lab -> the entry of this instance's share of its bill beyond the attempts: `launched` and
    `ended` as datetimes, `run_seconds` each lab's attempts' seconds on it."""
    billed = max(MINIMUM_BILLED_SECONDS, (ended - launched).total_seconds())
    total = sum(run_seconds.values())
    shares = {lab: max(0.0, billed - total) * seconds / total for lab, seconds in run_seconds.items()} if total \
        else {UNATTRIBUTED: billed}
    stamp = ended.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {lab: {"version": LEDGER_VERSION, "kind": "instance", "lab": lab, "instance_id": instance_id,
                  "instance_type": instance_type, "hourly_price_usd": float(hourly_price_usd),
                  "launched": launched.strftime("%Y-%m-%dT%H:%M:%SZ"), "finished": stamp,
                  "billed_seconds": billed, "run_seconds": float(run_seconds.get(lab, 0.0)), "seconds": share,
                  "cost_usd": float(hourly_price_usd) * share / 3600.0,
                  **({"price_source": price_source} if price_source else {})}
            for lab, share in shares.items()}


def entry_cost(entry):
    """The entry's cost_usd, or None when the entry is not one (not an object, no finite number)."""
    cost = entry.get("cost_usd") if isinstance(entry, dict) else None
    if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost) or cost < 0:
        return None
    return float(cost)


def month_entries(s3, bucket, lab, month):
    """(entries, unreadable keys) of the lab's ledger for the month; an entry that vanished between
    listing and reading is left out, any other AWS error raises."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=ledger_prefix(month, lab))
    keys = [item["Key"] for page in pages for item in page.get("Contents", []) if item["Key"].endswith(".json")]
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        read = list(pool.map(lambda key: _read_entry(s3, bucket, key), keys))
    entries = [entry for _, entry in read if entry is not None]
    return entries, [key for key, entry in read if entry is None and key is not None]


def _read_entry(s3, bucket, key):
    """(key, entry); (key, None) when it is not an entry; (None, None) when it is gone."""
    try:
        reply = s3.get_object(Bucket=bucket, Key=key)
    except Exception as error:
        if is_error(error, *MISSING):
            return None, None
        raise
    with reply["Body"] as body:
        entry = decoded(body.read())
    return key, entry if entry_cost(entry) is not None else None


def month_spend(s3, bucket, lab, month):
    """USD the lab's finished jobs cost in the month (entries that cannot be read count nothing)."""
    entries, _ = month_entries(s3, bucket, lab, month)
    return sum(entry_cost(entry) for entry in entries)
