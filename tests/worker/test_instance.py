"""The agent as an instance of its group (moto's Auto Scaling on the moto server): scale-in
protection on while a job runs and off after; when the group takes the instance away (a detach,
as a scale-in or the terminating lifecycle hook would), the running job goes back to the queue at
once, as a new message, and the agent leaves."""
import json
import signal

import pytest

from .helpers import WRITE_RESULT, WorkerProcess, cloud, shared_client, wait_until  # noqa: F401
from .test_process import slow_job, started

GROUP = "ncap-test-workers"


@pytest.fixture
def instance(cloud):
    """One instance in a group of one (the agent's, as the template makes it)."""
    ec2, autoscaling = shared_client("ec2"), shared_client("autoscaling")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    autoscaling.create_launch_configuration(LaunchConfigurationName=GROUP, ImageId=image, InstanceType="t3.micro")
    autoscaling.create_auto_scaling_group(AutoScalingGroupName=GROUP, LaunchConfigurationName=GROUP, MinSize=0,
                                          MaxSize=1, DesiredCapacity=1, AvailabilityZones=["us-east-1a"])
    [group] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"]
    yield group["Instances"][0]["InstanceId"]
    autoscaling.delete_auto_scaling_group(AutoScalingGroupName=GROUP, ForceDelete=True)
    autoscaling.delete_launch_configuration(LaunchConfigurationName=GROUP)


def protected(instance_id: str) -> bool | None:
    found = shared_client("autoscaling").describe_auto_scaling_instances(InstanceIds=[instance_id])
    entries = found["AutoScalingInstances"]
    return entries[0]["ProtectedFromScaleIn"] if entries else None


def agent(cloud, tmp_path, command, instance_id, **options):
    argv = cloud.worker_args(command, tmp_path / "work", group=GROUP, instance_id=instance_id, watch_seconds=1,
                             **options)
    return WorkerProcess(argv, tmp_path / "worker.log")


def test_the_instance_is_protected_while_a_job_runs_and_unprotected_after(cloud, instance, tmp_path):
    marks = tmp_path / "marks"
    process = agent(cloud, tmp_path, slow_job(marks, 3), instance, max_jobs=1)
    try:
        cloud.submit("j1")
        wait_until(lambda: started(marks), what="the job started")
        wait_until(lambda: protected(instance) is True, 10, what="scale-in protection while the job runs")
        assert process.wait() == 0
    finally:
        process.stop()
    assert protected(instance) is False, "an idle agent leaves its instance to scale-in"
    assert cloud.status("j1")["status"] == "SUCCESS"
    changes = [line["protected"] for line in process.decisions() if line["decision"] == "scale-in-protection"]
    assert changes == [True, False]


def test_a_job_on_an_instance_the_group_takes_away_is_queued_again_at_once(cloud, instance, tmp_path):
    marks = tmp_path / "marks"
    process = agent(cloud, tmp_path, slow_job(marks, 120), instance)
    try:
        cloud.submit("j1")
        wait_until(lambda: started(marks), what="the job started")
        shared_client("autoscaling").detach_instances(InstanceIds=[instance], AutoScalingGroupName=GROUP,
                                                      ShouldDecrementDesiredCapacity=True)
        assert process.wait(timeout=30) == 0, "the agent leaves without waiting for the job"
    finally:
        process.stop()
    [job] = [line for line in process.decisions() if line["decision"] == "job"]
    assert job["outcome"] == "requeued" and job["interruptions"] == 1
    assert cloud.counts() == (1, 0)
    again = cloud.receive()
    assert again.receive_count == 1 and json.loads(again.body)["job_id"] == "j1"
    assert cloud.status("j1")["datasets"]["labA/inputs/j1.csv"]["interruptions"] == 1


def test_the_last_idle_agent_leaves_no_protection_behind_when_it_is_stopped(cloud, instance, tmp_path):
    process = agent(cloud, tmp_path, WRITE_RESULT, instance)
    try:
        process.wait_for("started")
        cloud.submit("j1")
        wait_until(lambda: (cloud.status("j1") or {}).get("status") == "SUCCESS", what="the job finished")
        process.process.send_signal(signal.SIGTERM)
        assert process.wait() == 0
    finally:
        process.stop()
    assert protected(instance) is False


def group_size() -> tuple[int, list[str]]:
    [found] = shared_client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"]
    return found["DesiredCapacity"], [i["InstanceId"] for i in found["Instances"]]


def test_an_idle_agent_leaves_its_group_terminating_its_instance_and_lowering_the_desired_capacity(
        cloud, instance, tmp_path):
    process = agent(cloud, tmp_path, WRITE_RESULT, instance, idle_exit=1)
    try:
        assert process.wait() == 0, "idle past --idle-exit, it leaves"
    finally:
        process.stop()
    assert group_size() == (0, [])
    assert [line["instance"] for line in process.decisions() if line["decision"] == "left-group"] == [instance]


def test_an_idle_agent_at_the_groups_minimum_stays(cloud, instance, tmp_path):
    shared_client("autoscaling").update_auto_scaling_group(AutoScalingGroupName=GROUP, MinSize=1)
    process = agent(cloud, tmp_path, WRITE_RESULT, instance, idle_exit=1)
    try:
        process.wait_for("stays-in-group")
        cloud.submit("j1")
        wait_until(lambda: (cloud.status("j1") or {}).get("status") == "SUCCESS", what="it still takes jobs")
        assert process.process.poll() is None
    finally:
        process.stop()
    assert group_size() == (1, [instance])
