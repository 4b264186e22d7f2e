"""Capacity that follows the queue, and budgets, end to end on the local cloud: a cloud started
with no instance (--start-instances 0); a submission makes the submit function raise the group's
desired capacity within seconds, a worker process starts for the new instance and runs the job,
the job's cost goes into the ledger (which `ncap cost report` reads), and the worker, idle past
Scaling.WorkerIdleExitSeconds, terminates its instance and lowers the desired capacity back to
zero. A lab over its budget is REJECTED with the budget, the month's spend and the estimate in
the reason, while another lab's job runs."""
import json
import time

import pytest

from cloud_helpers import PIPELINES, local_cloud, ncap, pipeline_copy, status_key, wait_status

SAMPLE = PIPELINES / "local-demo" / "sample"
IDLE_EXIT_SECONDS = 4


def fleet_pipeline(document):
    document["PipelineName"] = "ncap-fleet"
    document.setdefault("Scaling", {})["WorkerIdleExitSeconds"] = IDLE_EXIT_SECONDS
    document["UXData"]["Affiliates"][0]["MaxCost"] = 0.0001  # below any job's estimate
    document["UXData"]["Affiliates"][1]["MaxCost"] = 100


def group_of(cloud) -> dict:
    autoscaling = cloud.client("autoscaling")
    name = cloud.client("cloudformation").describe_stacks(StackName=cloud.info["stack_name"])["Stacks"][0]["Outputs"]
    group = next(o["OutputValue"] for o in name if o["OutputKey"] == "WorkerGroupName")
    return autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def ledger_keys(s3, bucket) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="ledger/").get("Contents", [])]


def launch_time(cloud, instance_id: str):
    found = cloud.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    return found[0]["Instances"][0]["LaunchTime"]


def left_group_time(cloud) -> float:
    """When the worker asked the group to terminate its instance (its own log's "left-group")."""
    for log in cloud.state_dir.glob("worker-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if '"decision": "left-group"' in line:
                return json.loads(line)["time"]
    raise AssertionError("no worker left its group")


def submit(s3, bucket, lab, job_id):
    s3.put_object(Bucket=bucket, Key=f"{lab}/inputs/{job_id}.csv", Body=(SAMPLE / "trial_01.csv").read_bytes())
    s3.put_object(Bucket=bucket, Key=f"{lab}/configs/{job_id}.json", Body=(SAMPLE / "config.json").read_bytes())
    s3.put_object(Bucket=bucket, Key=f"{lab}/submissions/{job_id}_submit.json", Body=json.dumps(
        {"dataname": f"{lab}/inputs/{job_id}.csv", "configname": f"{lab}/configs/{job_id}.json",
         "timestamp": job_id}).encode())


@pytest.mark.slow
def test_capacity_follows_the_queue_from_zero_and_back_and_budgets_hold(tmp_path):
    pipeline = pipeline_copy("local-demo", tmp_path / "pipeline", fleet_pipeline)
    with local_cloud(pipeline, tmp_path / "state", workers=2, extra=("--start-instances", "0")) as cloud:
        assert group_of(cloud)["DesiredCapacity"] == 0 and cloud.pids["workers"] == []
        bob, alice = cloud.client("s3", "bob"), cloud.client("s3", "alice")
        submitted = time.monotonic()
        submit(bob, cloud.bucket, "lab-b", "paid")
        wait_for(lambda: group_of(cloud)["DesiredCapacity"] >= 1, 3, "the group asked for an instance")
        asked_after = time.monotonic() - submitted
        submit(alice, cloud.bucket, "lab-a", "broke")
        rejected = wait_status(alice, cloud.bucket, status_key("lab-a", "broke"), timeout=30)
        assert rejected["status"] == "REJECTED" and "over budget" in rejected["reason"], rejected
        assert "$0.00" in rejected["reason"] and "lab-a" in rejected["reason"]
        done = wait_status(bob, cloud.bucket, status_key("lab-b", "paid"), timeout=90)
        assert done["status"] == "SUCCESS", done

        admin = cloud.client("s3")
        attempts = [k for k in ledger_keys(admin, cloud.bucket) if "/instances/" not in k]
        assert len(attempts) == 1 and "/lab-b/paid/" in attempts[0]
        entry = json.loads(admin.get_object(Bucket=cloud.bucket, Key=attempts[0])["Body"].read())
        assert entry["lab"] == "lab-b" and entry["instance_type"] == "t3.micro" and entry["seconds"] > 0
        assert entry["cost_usd"] == entry["hourly_price_usd"] * entry["seconds"] / 3600  # however fast the job ran

        wait_for(lambda: group_of(cloud)["DesiredCapacity"] == 0 and not group_of(cloud)["Instances"],
                 IDLE_EXIT_SECONDS + 30, "the idle worker left and the group came back to zero")
        wait_for(lambda: json.loads((cloud.state_dir / "pids.json").read_text())["workers"] == [], 10,
                 "its process gone")
        assert cloud.process.poll() is None, "a worker leaving its instance is not a failure of the cloud"

        # The ledger adds up to the bill: the instance's billed seconds (launch to termination, 60 at
        # least) at its price, the attempt's seconds included, all booked to lab-b, whose job it ran.
        [instance_key] = [k for k in ledger_keys(admin, cloud.bucket) if "/instances/" in k]
        booked = json.loads(admin.get_object(Bucket=cloud.bucket, Key=instance_key)["Body"].read())
        assert instance_key.startswith(f"ledger/{booked['finished'][:7]}/lab-b/instances/i-")
        launched = launch_time(cloud, booked["instance_id"])
        left = left_group_time(cloud)
        billed = max(60.0, left - launched.timestamp())
        assert booked["billed_seconds"] == pytest.approx(billed, abs=1.5)  # the launch time is to the second
        total = entry["cost_usd"] + booked["cost_usd"]
        assert total == pytest.approx(billed * entry["hourly_price_usd"] / 3600, rel=0.01)

        report = ncap("cost", "report", str(pipeline), "--json", "--local-state", str(cloud.state_dir))
        assert report.returncode == 0, report.stderr
        labs = json.loads(report.stdout)["labs"]
        assert labs["lab-b"]["jobs"] == 1 and labs["lab-b"]["spent_usd"] == pytest.approx(total)
        assert labs["lab-a"]["jobs"] == 0 and labs["lab-a"]["spent_usd"] == 0 and labs["lab-a"]["budget_usd"] == 0.0001
    print(f"\ndesired capacity raised {asked_after:.2f} s after the submission")
