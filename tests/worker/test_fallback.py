"""Spot over several types, then on-demand: real `ncap worker` processes on the moto server. A
dataset interrupted --max-interruptions times is queued on the on-demand group's queue (never
again on the Spot one), where an agent of that group runs it to SUCCESS; the status counts the
interruptions and says where the last attempt ran. A group with a warm pool: the agent takes no
job while its instance is headed for the pool (its target lifecycle state Warmed:*), continues
the launching lifecycle hook each time it is ready, and serves once the instance is in service."""
import json
import os
import signal

import pytest

from ncap_iac.local.metadata import Instance as MetadataInstance
from ncap_iac.local.metadata import MetadataService

from .helpers import (  # noqa: F401
    BUCKET,
    LAB,
    WRITE_RESULT,
    WorkerProcess,
    cloud,
    results_prefix,
    shared_client,
    wait_until,
)
from .test_instance import GROUP, instance, protected  # noqa: F401
from .test_process import py, slow_job, started

DATASET = f"{LAB}/inputs/j1.csv"


@pytest.fixture
def on_demand_queue(cloud):
    """The on-demand group's queue, failing into the same dead-letter queue as the Spot one."""
    return cloud.sqs.create_queue(QueueName="jobs-on-demand", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": cloud.arn(cloud.dlq), "maxReceiveCount": 3})})["QueueUrl"]


def spot_agent(cloud, tmp_path, command, on_demand_queue, name):
    return WorkerProcess(cloud.worker_args(command, tmp_path / f"{name}-work", on_demand_queue_url=on_demand_queue,
                                           max_interruptions=2, grace=0), tmp_path / f"{name}.log")


def interrupt_running_job(process, marks, runs: int) -> dict:
    """Wait for the job's `runs`-th start, stop the agent (an interruption), and return its job line."""
    wait_until(lambda: len(started(marks)) == runs, what=f"run {runs} started")
    process.process.send_signal(signal.SIGTERM)
    assert process.wait() == 0
    [job] = [line for line in process.decisions() if line["decision"] == "job"]
    return job


def dataset(cloud) -> dict:
    return cloud.status("j1")["datasets"][DATASET]


def test_a_dataset_interrupted_max_interruptions_times_runs_next_on_the_on_demand_group(
        cloud, on_demand_queue, tmp_path):
    marks = tmp_path / "marks"
    cloud.submit("j1")
    first = spot_agent(cloud, tmp_path, slow_job(marks, 120), on_demand_queue, "spot-1")
    try:
        job = interrupt_running_job(first, marks, 1)
    finally:
        first.stop()
    assert job["outcome"] == "requeued" and job["interruptions"] == 1
    assert cloud.counts() == (1, 0) and cloud.counts(on_demand_queue) == (0, 0), "once: back on the Spot queue"
    assert dataset(cloud)["last_error"].endswith("queued again")

    second = spot_agent(cloud, tmp_path, slow_job(marks, 120), on_demand_queue, "spot-2")
    try:
        job = interrupt_running_job(second, marks, 2)
    finally:
        second.stop()
    assert job["outcome"] == "requeued-on-demand" and job["interruptions"] == 2
    assert cloud.counts() == (0, 0) and cloud.counts(on_demand_queue) == (1, 0), "twice: on the on-demand queue"
    assert dataset(cloud)["last_error"].endswith("queued for on-demand capacity")

    on_demand = WorkerProcess(cloud.worker_args(WRITE_RESULT, tmp_path / "od-work", queue_url=on_demand_queue,
                                                max_jobs=1), tmp_path / "on-demand.log")
    try:
        assert on_demand.wait(timeout=60) == 0
    finally:
        on_demand.stop()
    entry = dataset(cloud)
    assert entry["status"] == "SUCCESS" and entry["interruptions"] == 2
    results = shared_client("s3").list_objects_v2(Bucket=BUCKET, Prefix=results_prefix("j1"))
    assert [o["Key"].rsplit("/", 1)[1] for o in results.get("Contents", []) if o["Key"].endswith(".txt")
            and "/logs/" not in o["Key"]].count("result.txt") == 1, "one result set"
    assert cloud.counts(on_demand_queue) == (0, 0) and cloud.counts() == (0, 0)


def test_without_an_on_demand_queue_interruptions_keep_the_dataset_on_its_own_queue(cloud, tmp_path):
    marks = tmp_path / "marks"
    cloud.submit("j1")
    for run in (1, 2, 3):
        process = WorkerProcess(cloud.worker_args(slow_job(marks, 120), tmp_path / f"w{run}", grace=0),
                                tmp_path / f"w{run}.log")
        try:
            job = interrupt_running_job(process, marks, run)
        finally:
            process.stop()
        assert job["outcome"] == "requeued" and job["interruptions"] == run
        assert cloud.counts() == (1, 0)


@pytest.fixture
def metadata(instance):
    """The instance metadata service of the group's instance, its target lifecycle state set by the test."""
    service = MetadataService("us-east-1", "123456789012")
    state = {"target": "Warmed:Stopped"}
    service.add(MetadataInstance(instance, "t3.micro", "worker-role", dict, lambda: state["target"]))
    shared_client("autoscaling").put_lifecycle_hook(
        LifecycleHookName="launching", AutoScalingGroupName=GROUP,
        LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING", HeartbeatTimeout=300, DefaultResult="ABANDON")
    yield service, state
    service.stop()


def test_a_warm_pool_instance_takes_no_job_until_it_is_in_service(cloud, instance, metadata, tmp_path):
    service, state = metadata
    marks = tmp_path / "marks"
    env = {**os.environ, "AWS_EC2_METADATA_SERVICE_ENDPOINT": service.endpoint(instance)}
    argv = cloud.worker_args(slow_job(marks, 0), tmp_path / "work", group=GROUP, launching_hook="launching",
                             watch_seconds=0.2, max_jobs=1)
    process = WorkerProcess(argv, tmp_path / "worker.log", env=env)
    try:
        cloud.submit("j1")
        process.wait_for("launch-continued", state="Warmed:Stopped")
        process.wait_for("warm-pool-waiting")
        assert not started(marks) and cloud.counts() == (1, 0), "no job is taken while headed for the pool"
        assert cloud.status("j1")["status"] == "QUEUED"
        state["target"] = "InService"
        process.wait_for("launch-continued", state="InService")
        assert process.wait(timeout=60) == 0
    finally:
        process.stop()
    assert started(marks) == [DATASET] and cloud.status("j1")["status"] == "SUCCESS"


def slow_first_time(marks) -> str:
    """Sleeps two minutes the first time it runs (a mark per start), then ends at once."""
    return py(f"import os, time, pathlib; m = pathlib.Path({str(marks)!r}); "
              "first = not m.exists(); m.open('a').write(os.environ['NCAP_DATANAME'] + chr(10)); "
              "time.sleep(120 if first else 0); "
              "(pathlib.Path(os.environ['NCAP_OUTPUT_DIR']) / 'result.txt').write_text('ok')")


def test_an_instance_sent_back_to_the_pool_returns_its_job_and_waits_to_serve_again(
        cloud, instance, metadata, tmp_path):
    """Going back to the pool is a notice: the running job is queued again at once, the group's
    terminating hook is continued (else the instance waits out its heartbeat), and the agent starts
    over to wait: a hibernated instance resumes there, and serves once it is in service again."""
    service, state = metadata
    shared_client("autoscaling").put_lifecycle_hook(
        LifecycleHookName="terminating", AutoScalingGroupName=GROUP,
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING", HeartbeatTimeout=180, DefaultResult="CONTINUE")
    state["target"] = "InService"
    marks = tmp_path / "marks"
    env = {**os.environ, "AWS_EC2_METADATA_SERVICE_ENDPOINT": service.endpoint(instance)}
    argv = cloud.worker_args(slow_first_time(marks), tmp_path / "work", group=GROUP, launching_hook="launching",
                             lifecycle_hook="terminating", watch_seconds=0.2)
    process = WorkerProcess(argv, tmp_path / "worker.log", env=env)
    try:
        cloud.submit("j1")
        wait_until(lambda: started(marks), what="the job started")
        state["target"] = "Warmed:Hibernated"
        process.wait_for("back-to-warm-pool")
        job = process.wait_for("job")
        assert job["outcome"] == "requeued", "no job is left behind on an instance going back to the pool"
        process.wait_for("termination-continued", hook="terminating")
        process.wait_for("warm-pool-waiting")
        assert process.process.poll() is None, "the agent waits in the pool instead of ending"
        assert cloud.counts() == (1, 0) and protected(instance) is False
        state["target"] = "InService"
        wait_until(lambda: len(started(marks)) == 2, what="the job ran again once in service")
        wait_until(lambda: cloud.status("j1")["status"] == "SUCCESS", what="SUCCESS")
    finally:
        process.stop()


@pytest.fixture
def versioned_group(cloud):
    """A group of one instance launched from version 1 of its launch template, now at version 2 (a
    deploy changed the template while the instance stood in the warm pool)."""
    ec2, autoscaling = shared_client("ec2"), shared_client("autoscaling")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    template = ec2.create_launch_template(LaunchTemplateName="versioned", LaunchTemplateData={
        "ImageId": image, "InstanceType": "t3.micro"})["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="versioned", MinSize=0, MaxSize=1, DesiredCapacity=1,
                                          LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
                                          AvailabilityZones=["us-east-1a"])
    autoscaling.put_lifecycle_hook(LifecycleHookName="launching", AutoScalingGroupName="versioned",
                                   LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING", HeartbeatTimeout=300)
    ec2.create_launch_template_version(LaunchTemplateId=template, LaunchTemplateData={
        "ImageId": image, "InstanceType": "t3.micro"})
    autoscaling.update_auto_scaling_group(AutoScalingGroupName="versioned",
                                          LaunchTemplate={"LaunchTemplateId": template, "Version": "2"})
    [group] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["versioned"])["AutoScalingGroups"]
    yield group["Instances"][0]["InstanceId"]
    autoscaling.delete_auto_scaling_group(AutoScalingGroupName="versioned", ForceDelete=True)


def test_an_instance_of_an_older_launch_template_abandons_its_launch_and_takes_no_job(
        cloud, versioned_group, tmp_path):
    service = MetadataService("us-east-1", "123456789012")
    service.add(MetadataInstance(versioned_group, "t3.micro", "worker-role", dict, lambda: "InService"))
    env = {**os.environ, "AWS_EC2_METADATA_SERVICE_ENDPOINT": service.endpoint(versioned_group)}
    argv = cloud.worker_args(WRITE_RESULT, tmp_path / "work", group="versioned", launching_hook="launching",
                             watch_seconds=0.2)
    process = WorkerProcess(argv, tmp_path / "worker.log", env=env)
    try:
        cloud.submit("j1")
        assert process.wait(timeout=30) == 0
    finally:
        process.stop()
        service.stop()
    stale = process.wait_for("stale-instance", timeout=1)
    assert (stale["launched_version"], stale["group_version"]) == ("1", "2")
    process.wait_for("launch-abandoned", timeout=1)
    assert cloud.counts() == (1, 0) and cloud.status("j1")["status"] == "QUEUED"
