"""The ledger of spend: each attempt's seconds at the instance's hourly price, written by the
agent into `ledger/MONTH/LAB/JOB/...` of the pipeline bucket; nothing without a price."""
import json

from ncap_iac.worker import background

from .helpers import BUCKET, LAB, WRITE_RESULT, cloud, context, decisions, handle, shared_client  # noqa: F401


def ledger(prefix: str = "ledger/") -> list[dict]:
    s3 = shared_client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    return [json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) | {"key": key} for key in keys]


def test_each_attempt_is_written_into_the_ledger_with_its_cost(cloud, decisions, tmp_path):
    cloud.submit("j1")
    ctx = context(cloud, "exit 1", tmp_path, instance_type="p2.xlarge", hourly_price_usd=0.9)
    assert handle(ctx, cloud.receive(visibility=0)) == "retry"
    ctx = context(cloud, WRITE_RESULT, tmp_path, instance_type="p2.xlarge", hourly_price_usd=0.9)
    assert handle(ctx, cloud.receive()) == "success"
    background.settle()
    entries = sorted(ledger(), key=lambda e: e["attempt"])
    assert [e["attempt"] for e in entries] == [1, 2] and {e["lab"] for e in entries} == {LAB}
    assert all(f"/{LAB}/j1/" in e["key"] for e in entries)
    for entry in entries:
        assert entry["instance_type"] == "p2.xlarge" and entry["hourly_price_usd"] == 0.9
        assert entry["seconds"] > 0 and entry["cost_usd"] == 0.9 * entry["seconds"] / 3600


def test_without_a_price_nothing_is_written(cloud, decisions, tmp_path):
    cloud.submit("j1")
    assert handle(context(cloud, WRITE_RESULT, tmp_path), cloud.receive()) == "success"
    background.settle()
    assert ledger() == []
