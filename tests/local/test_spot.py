"""Spot over two types with a bounded number of interruptions, on the local cloud: the pipeline's
template deployed on the emulator (a Spot group and an on-demand group with a warm pool), its
instances booted by their launch templates' user data. `ncap local interrupt` gives the Spot
instance running the job the interruption notice, twice; each time the agent queues the job
again and the group replaces the instance; the third run is on the on-demand group, which its
Spot agent asked for capacity, and the job ends SUCCESS with one result set."""
import json

import pytest

from cloud_helpers import keys_under, local_cloud, ncap, pipeline_copy, read_json, status_key, wait_status

SLOW = '''\
import os, pathlib, time
time.sleep(12)
(pathlib.Path(os.environ["NCAP_OUTPUT_DIR"]) / "result.txt").write_text("done")
'''
DATASET = "lab-a/inputs/x.csv"


def spot_pipeline(document):
    document["PipelineName"] = "ncap-spot"
    document["Workers"].update(Command="python3 analysis/slow.py", MaxSize=2, JobTimeoutSeconds=300,
                               Spot={"InstanceTypes": ["t3.micro", "t3a.micro"], "MaxInterruptions": 2})
    document["Scaling"]["WarmPool"] = {"Size": 1}


def wait_dataset(s3, bucket, predicate, what: str, timeout: float = 90.0) -> dict:
    import time

    deadline = time.monotonic() + timeout
    entry: dict = {}
    while time.monotonic() < deadline:
        document = read_json(s3, bucket, status_key("lab-a", "j1")) or {}
        entry = (document.get("datasets") or {}).get(DATASET) or {}
        if predicate(entry):
            return entry
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout:.0f} s; the dataset: {entry}")


def interrupt(pipeline, state):
    found = ncap("local", "interrupt", str(pipeline), "--state-dir", str(state), timeout=180)
    assert found.returncode == 0, found.stderr
    return found.stdout


@pytest.mark.slow
def test_a_job_interrupted_twice_on_spot_finishes_on_the_on_demand_group(tmp_path):
    pipeline = pipeline_copy("local-demo", tmp_path / "pipeline", spot_pipeline)
    (pipeline / "analysis" / "slow.py").write_text(SLOW)
    state = tmp_path / "state"
    with local_cloud(pipeline, state, workers=1) as cloud:
        s3 = cloud.client("s3", "alice")
        s3.put_object(Bucket=cloud.bucket, Key=DATASET, Body=b"a\n1\n")
        s3.put_object(Bucket=cloud.bucket, Key="lab-a/configs/c.json", Body=b"{}")
        s3.put_object(Bucket=cloud.bucket, Key="lab-a/submissions/j1_submit.json", Body=json.dumps(
            {"dataname": DATASET, "configname": "lab-a/configs/c.json", "timestamp": "j1"}).encode())
        for times in (1, 2):
            running = wait_dataset(s3, cloud.bucket, lambda e, n=times: e.get("status") == "RUNNING"
                                   and int(e.get("interruptions") or 0) == n - 1 and e.get("started"),
                                   f"run {times} on Spot")
            assert running["capacity"] == "spot" and running["instance_type"] == "t3.micro"
            said = interrupt(pipeline, state)
            assert "interruption notice" in said and "is gone" in said
            wait_dataset(s3, cloud.bucket, lambda e, n=times: int(e.get("interruptions") or 0) == n,
                         f"interruption {times} counted")
        done = wait_status(s3, cloud.bucket, status_key("lab-a", "j1"), timeout=120)
        results = keys_under(s3, cloud.bucket, "lab-a/results/job_j1/")
        on_demand_logs = sorted(state.glob("worker-on-demand-*.log"))
        spot_logs = sorted(p for p in state.glob("worker-*.log") if "on-demand" not in p.name)
        autoscaling = cloud.client("autoscaling")
        pool = autoscaling.describe_warm_pool(AutoScalingGroupName="ncap-spot-on-demand-workers")
    entry = done["datasets"][DATASET]
    assert done["status"] == "SUCCESS", done
    assert entry["interruptions"] == 2 and entry["capacity"] == "on-demand", entry
    assert [k for k in results if k.endswith("result.txt")] == ["lab-a/results/job_j1/process_results/result.txt"]
    assert len(spot_logs) == 3, "two Spot instances reclaimed, each replaced by the group"
    # nothing scales a group on the local cloud but requests (no alarm runs): the Spot agent asked
    assert len(on_demand_logs) == 1, "the on-demand group grew from zero for the job"
    spot_text = "".join(p.read_text(errors="replace") for p in spot_logs)
    assert spot_text.count('"outcome": "requeued"') == 1 and spot_text.count('"outcome": "requeued-on-demand"') == 1
    on_demand_text = on_demand_logs[0].read_text(errors="replace")
    assert '"outcome": "success"' in on_demand_text
    continued = [json.loads(line) for line in on_demand_text.splitlines() if '"decision": "launch-continued"' in line]
    assert [c["state"] for c in continued] == ["InService"], "the agent continued its group's launching hook"
    assert pool["WarmPoolConfiguration"]["MinSize"] == 1
    [copied] = list((state / "instances").glob("*/boot-scripts/ncap-worker"))
    assert "--queue-url" in copied.read_text(), "the on-demand instance's user data put itself among the per-boot scripts"


def test_interrupt_refuses_a_pipeline_without_spot_workers_with_one_line(tmp_path):
    pipeline = pipeline_copy("local-demo", tmp_path / "pipeline")
    state = tmp_path / "state"
    state.mkdir()
    (state / "local.json").write_text(json.dumps({"endpoint_url": "http://localhost:1", "region": "us-east-1",
                                                  "admin": {"access_key_id": "x", "secret_access_key": "y"}}))
    found = ncap("local", "interrupt", str(pipeline), "--state-dir", str(state))
    assert found.returncode == 1 and "has no Spot workers" in found.stderr
    assert len(found.stderr.strip().splitlines()) == 1 and "Traceback" not in found.stderr
