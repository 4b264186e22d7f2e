"""submit_start.handler asks the worker group for capacity at once (moto): desired capacity rises
to min(MaxSize, jobs queued + running), is never lowered, is left alone without a group (LAUNCH
false), and a failure there loses no job."""
import boto3
import pytest
from botocore.exceptions import ClientError

from ncap_lambda import capacity

import submit_start
from .test_submit_start import cloud, outcome  # noqa: F401

GROUP = "lab-pipeline-workers"


@pytest.fixture
def group(cloud):
    """A group of at most 3 workers, none running; the function knows its name."""
    autoscaling = boto3.client("autoscaling", region_name="us-east-1")
    autoscaling.create_launch_configuration(LaunchConfigurationName="workers", ImageId="ami-12c6146b",
                                            InstanceType="t3.micro")
    autoscaling.create_auto_scaling_group(AutoScalingGroupName=GROUP, LaunchConfigurationName="workers",
                                          MinSize=0, MaxSize=3, DesiredCapacity=0,
                                          AvailabilityZones=["us-east-1a"])
    cloud.env(WORKER_GROUP=GROUP)
    cloud.autoscaling = autoscaling
    for name in ("a", "b", "c", "d"):
        cloud.put(f"labA/inputs/{name}.csv")
    return cloud


def desired(cloud):
    found = cloud.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"]
    return found[0]["DesiredCapacity"]


def submit(cloud, name, *datasets):
    return cloud.submit({"dataname": [f"labA/inputs/{d}.csv" for d in datasets], "configname": "labA/configs/c.yaml"},
                        name=f"{name}_submit.json")


def test_a_submission_raises_desired_capacity_to_its_jobs_capped_at_max_size(group):
    assert submit(group, "one", "a", "b") == outcome(jobs=["one"])
    assert desired(group) == 2
    submit(group, "two", "c", "d")
    assert desired(group) == 3  # 4 jobs queued, MaxSize 3


def test_desired_capacity_is_never_lowered(group):
    group.autoscaling.set_desired_capacity(AutoScalingGroupName=GROUP, DesiredCapacity=3)
    submit(group, "one", "a")
    assert desired(group) == 3
    group.messages()  # the queue drained
    submit(group, "two", "b")
    assert desired(group) == 3


def test_running_jobs_count_as_needing_an_instance(group):
    submit(group, "one", "a", "b")
    group.sqs.receive_message(QueueUrl=group.queue, MaxNumberOfMessages=2, VisibilityTimeout=300)  # both running
    group.autoscaling.set_desired_capacity(AutoScalingGroupName=GROUP, DesiredCapacity=1)
    submit(group, "two", "c")
    assert desired(group) == 3


def test_without_a_group_nothing_is_asked(group, monkeypatch):
    group.env(WORKER_GROUP=None)
    monkeypatch.setattr(capacity, "_request", lambda *a: pytest.fail("capacity was asked for"))
    assert submit(group, "one", "a") == outcome(jobs=["one"])
    assert desired(group) == 0


def test_a_rejected_submission_asks_nothing(group):
    group.submit({"dataname": "labA/inputs/missing.csv", "configname": "labA/configs/c.yaml"}, name="bad_submit.json")
    assert desired(group) == 0


def test_a_failing_capacity_request_loses_no_job_and_logs_one_line(group, monkeypatch, decisions):
    def refuse(**_):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "SetDesiredCapacity")

    real = submit_start.client

    def clients(service):
        made = real(service)
        if service == "autoscaling":
            monkeypatch.setattr(made, "set_desired_capacity", refuse)
        return made

    monkeypatch.setattr(submit_start, "client", clients)
    assert submit(group, "one", "a") == outcome(jobs=["one"])
    assert group.status("one")["queued"] is True and len(group.bodies()) == 1
    failed = [line for line in decisions() if line["decision"] == "capacity-request-failed"]
    assert failed == [{"decision": "capacity-request-failed", "group": GROUP, "error": "ClientError",
                       "code": "AccessDenied"}]


def test_a_missing_group_is_logged_and_the_job_queued(group, decisions):
    group.env(WORKER_GROUP="no-such-group")
    assert submit(group, "one", "a") == outcome(jobs=["one"])
    assert {"decision": "capacity-group-missing", "group": "no-such-group"} in decisions()


@pytest.mark.parametrize("max_size, current, in_queue, sent, target", [
    pytest.param(4, 0, 0, 2, 2, id="counts-lag-the-messages-just-sent"),
    pytest.param(4, 1, 3, 1, 3, id="queued-and-running"),
    pytest.param(4, 0, 9, 1, 4, id="capped-at-max-size"),
    pytest.param(4, 3, 2, 1, None, id="enough-already"),
    pytest.param(0, 0, 5, 5, None, id="max-size-zero"),
])
def test_wanted(max_size, current, in_queue, sent, target):
    assert capacity.wanted({"MaxSize": max_size, "DesiredCapacity": current}, in_queue, sent) == target
