"""Auto Scaling on the emulator where moto differs from AWS: CompleteLifecycleAction, which moto
lacks, is accepted for an instance of the group when the group has the hook, and refused
otherwise, as AWS refuses a call with no lifecycle action waiting."""
import pytest
from botocore.exceptions import ClientError

from ncap_iac.aws.clients import Aws


@pytest.fixture
def group(moto_server):
    aws = Aws("us-east-1", moto_server)
    autoscaling = aws.client("autoscaling")
    image = aws.client("ec2").describe_images()["Images"][0]["ImageId"]
    autoscaling.create_launch_configuration(LaunchConfigurationName="workers", ImageId=image, InstanceType="t3.micro")
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="workers", LaunchConfigurationName="workers",
                                          MinSize=0, MaxSize=2, DesiredCapacity=1, AvailabilityZones=["us-east-1a"])
    autoscaling.put_lifecycle_hook(LifecycleHookName="launching", AutoScalingGroupName="workers",
                                   LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING", HeartbeatTimeout=300)
    [found] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["workers"])["AutoScalingGroups"]
    return autoscaling, found["Instances"][0]["InstanceId"]


def test_a_lifecycle_action_of_the_groups_instance_on_its_hook_is_completed(group):
    autoscaling, instance = group
    autoscaling.complete_lifecycle_action(LifecycleHookName="launching", AutoScalingGroupName="workers",
                                          InstanceId=instance, LifecycleActionResult="CONTINUE")


@pytest.mark.parametrize("hook, instance_of", [("no-such-hook", "member"), ("launching", "stranger")])
def test_a_lifecycle_action_with_nothing_waiting_is_refused(group, hook, instance_of):
    autoscaling, instance = group
    with pytest.raises(ClientError) as refused:
        autoscaling.complete_lifecycle_action(
            LifecycleHookName=hook, AutoScalingGroupName="workers", LifecycleActionResult="CONTINUE",
            InstanceId=instance if instance_of == "member" else "i-0123456789abcdef0")
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert "No active Lifecycle Action found" in refused.value.response["Error"]["Message"]
