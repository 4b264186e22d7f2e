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
        ledger = [o["Key"] for o in admin.list_objects_v2(Bucket=cloud.bucket, Prefix="ledger/").get("Contents", [])]
        assert len(ledger) == 1 and "/lab-b/paid/" in ledger[0]
        entry = json.loads(admin.get_object(Bucket=cloud.bucket, Key=ledger[0])["Body"].read())
        assert entry["lab"] == "lab-b" and entry["instance_type"] == "t3.micro" and entry["seconds"] > 0
        assert entry["cost_usd"] == entry["hourly_price_usd"] * entry["seconds"] / 3600  # however fast the job ran

        env = {"AWS_ACCESS_KEY_ID": cloud.info["admin"]["access_key_id"],
               "AWS_SECRET_ACCESS_KEY": cloud.info["admin"]["secret_access_key"], "AWS_DEFAULT_REGION": "us-east-1"}
        report = ncap("cost", "report", str(pipeline), "--json", "--endpoint-url", cloud.info["endpoint_url"], env=env)
        assert report.returncode == 0, report.stderr
        labs = json.loads(report.stdout)["labs"]
        assert labs["lab-b"]["jobs"] == 1 and labs["lab-b"]["spent_usd"] == pytest.approx(entry["cost_usd"])
        assert labs["lab-a"]["jobs"] == 0 and labs["lab-a"]["spent_usd"] == 0 and labs["lab-a"]["budget_usd"] == 0.0001

        wait_for(lambda: group_of(cloud)["DesiredCapacity"] == 0 and not group_of(cloud)["Instances"],
                 IDLE_EXIT_SECONDS + 30, "the idle worker left and the group came back to zero")
        wait_for(lambda: json.loads((cloud.state_dir / "pids.json").read_text())["workers"] == [], 10,
                 "its process gone")
        assert cloud.process.poll() is None, "a worker leaving its instance is not a failure of the cloud"
    print(f"\ndesired capacity raised {asked_after:.2f} s after the submission")
