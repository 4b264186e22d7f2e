"""The ledger of finished jobs (ncap_lambda/ledger.py): its key layout outside every lab's folders, its
entries, and month_spend reading one lab's month from S3 (moto)."""
import json
from datetime import UTC

import boto3
import pytest

from ncap_lambda.ledger import (
    LEDGER_PREFIX,
    UNATTRIBUTED,
    current_month,
    entry_cost,
    instance_entries,
    instance_key,
    ledger_entry,
    ledger_key,
    ledger_prefix,
    month_entries,
    month_of,
    month_spend,
)

BUCKET = "lab-pipeline"


@pytest.fixture
def s3(aws):
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def record(s3, lab, job_id, dataname, seconds, finished, attempt=1, price=0.9):
    entry = ledger_entry(lab, job_id, dataname, "p2.xlarge", price, seconds, finished, attempt)
    key = ledger_key(lab, job_id, dataname, finished, attempt)
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(entry).encode())
    return key


def test_key_layout_is_outside_every_labs_folders_one_per_dataset_attempt():
    key = ledger_key("labA", "run1", "labA/inputs/x.csv", "2026-03-31T23:59:59Z", attempt=2)
    assert key.startswith("ledger/2026-03/labA/run1/") and key.endswith("-2.json") and LEDGER_PREFIX == "ledger/"
    assert key != ledger_key("labA", "run1", "labA/inputs/y.csv", "2026-03-31T23:59:59Z", attempt=2)
    assert key != ledger_key("labA", "run1", "labA/inputs/x.csv", "2026-03-31T23:59:59Z", attempt=1)
    assert key == ledger_key("labA", "run1", "labA/inputs/x.csv", "2026-03-01T00:00:00Z", attempt=2)
    assert ledger_key("labA", "run1", "x", "2026-04-01T00:00:00Z").startswith("ledger/2026-04/labA/")
    assert ledger_prefix("2026-03") == "ledger/2026-03/" and ledger_prefix("2026-03", "labA") == "ledger/2026-03/labA/"


@pytest.mark.parametrize("bad", ["", "2026-3", "2026-13", "yesterday", None])
def test_a_month_or_a_time_that_is_not_one_is_refused(bad):
    with pytest.raises(ValueError):
        ledger_prefix(bad)
    with pytest.raises(ValueError):
        month_of(bad)


def test_entry_has_every_field_and_its_cost():
    entry = ledger_entry("labA", "run1", "labA/inputs/x.csv", "p2.xlarge", 0.9, 1800, "2026-03-05T10:00:00Z")
    assert entry == {"version": 1, "lab": "labA", "job_id": "run1", "dataname": "labA/inputs/x.csv", "attempt": 1,
                     "instance_type": "p2.xlarge", "hourly_price_usd": 0.9, "seconds": 1800.0, "cost_usd": 0.45,
                     "finished": "2026-03-05T10:00:00Z"}
    assert json.loads(json.dumps(entry)) == entry and entry_cost(entry) == 0.45


def test_a_short_attempt_on_a_small_instance_keeps_its_cost_unrounded():
    """A t3.micro second is $0.0000029: rounding to 6 decimals would book a fast job as free."""
    entry = ledger_entry("labA", "run1", "labA/inputs/x.csv", "t3.micro", 0.0104, 0.25, "2026-03-05T10:00:00Z")
    assert entry["seconds"] == 0.25 and entry["cost_usd"] == 0.0104 * 0.25 / 3600 > 0


@pytest.mark.parametrize("entry", [None, [], {}, {"cost_usd": "1"}, {"cost_usd": True}, {"cost_usd": -1},
                                   {"cost_usd": float("nan")}, {"cost_usd": float("inf")}], ids=repr)
def test_what_is_not_an_entry_costs_nothing(entry):
    assert entry_cost(entry) is None


def test_month_spend_sums_the_labs_month_only(s3):
    record(s3, "labA", "run1", "labA/inputs/x.csv", 3600, "2026-03-02T10:00:00Z")  # 0.90
    record(s3, "labA", "run1", "labA/inputs/y.csv", 1800, "2026-03-02T10:00:00Z")  # 0.45
    record(s3, "labA", "run1", "labA/inputs/y.csv", 600, "2026-03-02T09:00:00Z", attempt=2)  # 0.15, a retry
    record(s3, "labA", "run2", "labA/inputs/z.csv", 7200, "2026-04-01T00:00:01Z")  # next month
    record(s3, "labAB", "run3", "labAB/inputs/x.csv", 3600, "2026-03-02T10:00:00Z")  # another lab, same start
    record(s3, "labB", "run4", "labB/inputs/x.csv", 36000, "2026-03-02T10:00:00Z")
    assert month_spend(s3, BUCKET, "labA", "2026-03") == 1.5
    assert month_spend(s3, BUCKET, "labA", "2026-04") == 1.8
    assert month_spend(s3, BUCKET, "labAB", "2026-03") == 0.9
    assert month_spend(s3, BUCKET, "labC", "2026-03") == 0.0


def test_an_entry_written_twice_counts_once_and_unreadable_ones_count_nothing(s3):
    record(s3, "labA", "run1", "labA/inputs/x.csv", 3600, "2026-03-02T10:00:00Z")
    record(s3, "labA", "run1", "labA/inputs/x.csv", 3600, "2026-03-02T10:00:00Z")
    s3.put_object(Bucket=BUCKET, Key="ledger/2026-03/labA/bad/garbage.json", Body=b"not json")
    s3.put_object(Bucket=BUCKET, Key="ledger/2026-03/labA/bad/free.json", Body=b'{"cost_usd": "lots"}')
    entries, unreadable = month_entries(s3, BUCKET, "labA", "2026-03")
    assert [e["job_id"] for e in entries] == ["run1"]
    assert sorted(unreadable) == ["ledger/2026-03/labA/bad/free.json", "ledger/2026-03/labA/bad/garbage.json"]
    assert month_spend(s3, BUCKET, "labA", "2026-03") == 0.9


def test_many_entries_are_all_read(s3):
    for n in range(1001):  # more than one listing page (1,000 keys)
        s3.put_object(Bucket=BUCKET, Key=f"ledger/2026-03/labA/j{n}/d-1.json",
                      Body=json.dumps({"cost_usd": 0.01}).encode())
    assert month_spend(s3, BUCKET, "labA", "2026-03") == pytest.approx(10.01)


def test_current_month_is_utc_year_and_month():
    from datetime import UTC, datetime

    assert current_month(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == "2026-12"
    assert len(current_month()) == 7


def test_an_instances_bill_beyond_its_attempts_is_shared_by_run_time():
    """Launched at 10:00:00, gone at 10:10:00 (600 s billed); lab a ran 300 s on it, lab b 100 s:
    the 200 s of boot and idle go 3:1, so each lab's attempts plus its share are its part of the bill."""
    from datetime import datetime

    launched = datetime(2026, 3, 5, 10, 0, 0, tzinfo=UTC)
    ended = datetime(2026, 3, 5, 10, 10, 0, tzinfo=UTC)
    entries = instance_entries("i-0abc", "p2.xlarge", 0.9, launched, ended, {"labA": 300.0, "labB": 100.0})
    assert entries["labA"]["seconds"] == 150.0 and entries["labB"]["seconds"] == 50.0
    assert all(e["billed_seconds"] == 600.0 and e["kind"] == "instance" for e in entries.values())
    attempts = 0.9 * 400.0 / 3600
    assert attempts + sum(entry_cost(e) for e in entries.values()) == pytest.approx(0.9 * 600.0 / 3600)
    assert instance_key("labA", "i-0abc", entries["labA"]["finished"]) == "ledger/2026-03/labA/instances/i-0abc.json"


def test_a_short_instance_is_billed_a_minute_and_one_that_ran_nothing_is_unattributed():
    from datetime import datetime, timedelta

    launched = datetime(2026, 3, 31, 23, 59, 50, tzinfo=UTC)
    ended = launched + timedelta(seconds=20)
    [(lab, entry)] = instance_entries("i-1", "t3.micro", 0.0104, launched, ended, {}).items()
    assert lab == UNATTRIBUTED and entry["billed_seconds"] == 60.0 and entry["seconds"] == 60.0
    assert instance_key(lab, "i-1", entry["finished"]).startswith("ledger/2026-04/_unattributed/")
    shared = instance_entries("i-2", "t3.micro", 0.0104, launched, ended, {"labA": 5.0})
    assert shared["labA"]["seconds"] == 55.0  # the minute less the attempt's own 5 s
