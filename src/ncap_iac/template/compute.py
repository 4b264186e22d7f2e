"""The worker group: instance role and profile, launch template (IMDSv2, encrypted root volume,
user data that makes the jobs' unprivileged user, shuts it out of the metadata service and starts
the worker agent), the auto scaling group from zero with a terminating lifecycle hook (a running
job is queued again before its instance goes), and step scaling driven by CloudWatch alarms on the
job queue.

The instance role reaches no lab data: it takes jobs from the queue, sends notices, protects its
instance from scale-in while a job runs, and assumes the labs' job roles (jobs.py), through which
the agent does everything in S3."""
from __future__ import annotations

import shlex

from troposphere import AWSObject, Base64, GetAtt, GetAZs, Output, Ref, Sub
from troposphere.autoscaling import (
    AutoScalingGroup,
    InstancesDistribution,
    LaunchTemplate,
    LaunchTemplateSpecification,
    LifecycleHookSpecification,
    MixedInstancesPolicy,
    ScalingPolicy,
    StepAdjustments,
    Tags,
)
from troposphere.cloudwatch import Alarm, MetricDimension
from troposphere.ec2 import (
    EBSBlockDevice,
    IamInstanceProfile,
    LaunchTemplateBlockDeviceMapping,
    LaunchTemplateData,
    MetadataOptions,
    TagSpecifications,
)
from troposphere.iam import InstanceProfile

from .. import names
from ..config.model import StackConfig
from ..lambda_repo.ncap_lambda.contract import LEDGER_PREFIX, job_role_path
from . import iam
from .agent import JOB_USER, agent_arguments
from .monitoring import queue_metric, sum_of_queues_alarm, topic_key_statement
from .queue import job_queue_arn
from .tags import pipeline_tags


def resources(config: StackConfig) -> list[AWSObject]:
    return [_role(config), InstanceProfile(names.INSTANCE_PROFILE, Roles=[Ref(names.INSTANCE_ROLE)]),
            _launch_template(config), _group(config), *_scale_out(config), *_scale_in(config)]


def outputs(config: StackConfig) -> list[Output]:
    return [Output(names.WORKER_GROUP_OUTPUT, Description="The auto scaling group of workers",
                   Value=Ref(names.WORKER_GROUP))]


def job_roles_prefix() -> str:
    """The ARN prefix of the labs' job roles, as a Sub string (the agent's --job-roles)."""
    return "arn:${AWS::Partition}:iam::${AWS::AccountId}:role"


def _role(config: StackConfig):
    pipeline = config.pipeline_name
    group = Sub("arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:"
                f"autoScalingGroupName/{names.worker_group_name(pipeline)}")
    return iam.service_role(names.INSTANCE_ROLE, "ec2.amazonaws.com", "worker", [
        iam.statement("AssumeJobRoles", ["sts:AssumeRole"], [iam.iam_arn(f"role{job_role_path(pipeline)}*")]),
        iam.statement("ConsumeJobs", ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                                      "sqs:GetQueueAttributes", "sqs:SendMessage"], [job_queue_arn(config)]),
        iam.statement("NotifyLabs", ["sns:Publish"], [Ref(names.TOPIC)]),
        topic_key_statement(),
        iam.statement("ProtectRunningJobs", ["autoscaling:CompleteLifecycleAction",
                                             "autoscaling:SetInstanceProtection"], [group]),
        iam.statement("LeaveWhenIdle", ["autoscaling:TerminateInstanceInAutoScalingGroup"], [group]),
        # DescribeAutoScalingInstances takes no resource-level permission: "*" is its only resource.
        iam.statement("WatchOwnInstance", ["autoscaling:DescribeAutoScalingInstances"], ["*"]),
        *_ledger_statements(config),
    ])


def _ledger_statements(config: StackConfig) -> list[dict]:
    """The agent records each attempt's cost in the ledger, outside every lab's folders."""
    if config.workers.hourly_price_usd is None:
        return []
    return [iam.statement("RecordSpend", ["s3:PutObject"], [iam.object_arn(config.pipeline_name, LEDGER_PREFIX + "*")])]


# The analysis runs as JOB_USER, made here, whose packets to the instance metadata service (and so
# to the instance role's credentials) are rejected; the agent stays root for the rest. No firewall
# tool: the script stops before the agent starts, so that no job ever runs unfenced.
JOB_USER_SETUP = f"""\
id {JOB_USER} >/dev/null 2>&1 || useradd --system --user-group --create-home --home-dir /var/lib/{JOB_USER} \\
  --shell /usr/sbin/nologin {JOB_USER}
if command -v iptables >/dev/null; then
  iptables -I OUTPUT -d 169.254.169.254 -m owner --uid-owner {JOB_USER} -j REJECT
  if command -v ip6tables >/dev/null; then
    ip6tables -I OUTPUT -d fd00:ec2::254 -m owner --uid-owner {JOB_USER} -j REJECT || true
  fi
elif command -v nft >/dev/null; then
  nft add table inet ncap
  nft add chain inet ncap output '{{ type filter hook output priority 0; }}'
  nft add rule inet ncap output meta skuid {JOB_USER} ip daddr 169.254.169.254 reject
  nft add rule inet ncap output meta skuid {JOB_USER} ip6 daddr fd00:ec2::254 reject
else
  echo "ncap: neither iptables nor nft: cannot keep jobs from the instance metadata service" >&2
  exit 1
fi
"""


def user_data(config: StackConfig) -> Base64:
    """A shell script that fences the jobs' user off and starts the agent; the command is quoted,
    never spliced unquoted."""
    argv = [config.workers.agent_command, *agent_arguments(config, "@QUEUE@", "@TOPIC@", "@ROLES@"),
            "--run-as", JOB_USER]
    line = " ".join(shlex.quote(a) for a in argv).replace("${", "${!")
    line = line.replace("@QUEUE@", "${JobQueue}").replace("@TOPIC@", "${Topic}").replace("@ROLES@", "${JobRoles}")
    script = ("#!/bin/bash\n"
              f"# Starts the ncap worker agent of pipeline {config.pipeline_name}.\n"
              "set -eu\n"
              f"{JOB_USER_SETUP}"
              f"exec {line}\n")
    return Base64(Sub(script, JobQueue=Ref(names.JOB_QUEUE), Topic=Ref(names.TOPIC),
                      JobRoles=Sub(job_roles_prefix() + job_role_path(config.pipeline_name))))


def _launch_template(config: StackConfig) -> AWSObject:
    from troposphere.ec2 import LaunchTemplate as Ec2LaunchTemplate

    w = config.workers
    data = LaunchTemplateData(
        ImageId=w.ami, InstanceType=w.instance_type,
        IamInstanceProfile=IamInstanceProfile(Arn=GetAtt(names.INSTANCE_PROFILE, "Arn")),
        MetadataOptions=MetadataOptions(HttpTokens="required", HttpEndpoint="enabled",
                                        HttpPutResponseHopLimit=1),
        BlockDeviceMappings=[LaunchTemplateBlockDeviceMapping(DeviceName=w.root_device_name, Ebs=EBSBlockDevice(
            Encrypted=True, VolumeSize=w.volume_size_gib, VolumeType="gp3", DeleteOnTermination=True))],
        InstanceInitiatedShutdownBehavior=w.shutdown_behavior,
        TagSpecifications=[TagSpecifications(ResourceType=kind, Tags=pipeline_tags(config))
                           for kind in ("instance", "volume")],
        UserData=user_data(config))
    if w.key_name:
        data.KeyName = w.key_name
    _security_groups(data, w.security_groups)
    return Ec2LaunchTemplate(names.LAUNCH_TEMPLATE, LaunchTemplateData=data,
                             LaunchTemplateName=names.worker_group_name(config.pipeline_name))


def _security_groups(data: LaunchTemplateData, groups: tuple[str, ...]) -> None:
    ids = [g for g in groups if g.startswith("sg-")]
    named = [g for g in groups if not g.startswith("sg-")]
    if ids:
        data.SecurityGroupIds = ids
    if named:
        data.SecurityGroups = named


# How long a terminating instance waits for its agent to queue its running job again (the agent
# continues the termination as soon as it has; a Spot interruption gives two minutes in all).
TERMINATING_HOOK_SECONDS = 180


def _group(config: StackConfig) -> AutoScalingGroup:
    w = config.workers
    template = LaunchTemplateSpecification(LaunchTemplateId=Ref(names.LAUNCH_TEMPLATE),
                                           Version=GetAtt(names.LAUNCH_TEMPLATE, "LatestVersionNumber"))
    group = AutoScalingGroup(
        names.WORKER_GROUP, AutoScalingGroupName=names.worker_group_name(config.pipeline_name),
        MinSize=str(w.min_size), MaxSize=str(w.max_size),
        LifecycleHookSpecificationList=[LifecycleHookSpecification(
            LifecycleHookName=names.TERMINATING_HOOK, LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
            HeartbeatTimeout=TERMINATING_HOOK_SECONDS, DefaultResult="CONTINUE")],
        Tags=Tags(Name=names.worker_group_name(config.pipeline_name), NcapPipeline=config.pipeline_name,
                  **{names.PIPELINE_TAG: config.pipeline_name}))
    if w.subnets:
        group.VPCZoneIdentifier = list(w.subnets)
    else:
        group.AvailabilityZones = GetAZs("")
    if w.spot:
        group.CapacityRebalance = True  # a replacement starts when Spot signals a raised risk
        group.MixedInstancesPolicy = MixedInstancesPolicy(
            LaunchTemplate=LaunchTemplate(LaunchTemplateSpecification=template),
            InstancesDistribution=InstancesDistribution(
                OnDemandBaseCapacity=0, OnDemandPercentageAboveBaseCapacity=0,
                SpotAllocationStrategy="price-capacity-optimized"))
    else:
        group.LaunchTemplate = template
    return group


def _scale_out(config: StackConfig) -> list[AWSObject]:
    s = config.scaling
    base = s.scale_out[0].queued_jobs
    steps = []
    for position, step in enumerate(s.scale_out):
        adjustment = StepAdjustments(MetricIntervalLowerBound=step.queued_jobs - base,
                                     ScalingAdjustment=step.add_instances)
        if position + 1 < len(s.scale_out):
            adjustment.MetricIntervalUpperBound = s.scale_out[position + 1].queued_jobs - base
        steps.append(adjustment)
    policy = ScalingPolicy(names.SCALE_OUT_POLICY, AutoScalingGroupName=Ref(names.WORKER_GROUP),
                           PolicyType="StepScaling", AdjustmentType="ChangeInCapacity",
                           MetricAggregationType="Maximum", EstimatedInstanceWarmup=s.warmup_seconds,
                           StepAdjustments=steps)
    alarm = Alarm(names.SCALE_OUT_ALARM, AlarmDescription=f"{base} or more jobs queued: add workers",
                  Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
                  Dimensions=[MetricDimension(Name="QueueName", Value=GetAtt(names.JOB_QUEUE, "QueueName"))],
                  Statistic="Maximum", Period=s.period_seconds, EvaluationPeriods=s.evaluation_periods,
                  Threshold=base, ComparisonOperator="GreaterThanOrEqualToThreshold",
                  TreatMissingData="notBreaching", AlarmActions=[Ref(policy)])
    return [policy, alarm]


def _scale_in(config: StackConfig) -> list[AWSObject]:
    s = config.scaling
    policy = ScalingPolicy(names.SCALE_IN_POLICY, AutoScalingGroupName=Ref(names.WORKER_GROUP),
                           PolicyType="StepScaling", AdjustmentType="ExactCapacity",
                           MetricAggregationType="Maximum", StepAdjustments=[StepAdjustments(
                               MetricIntervalUpperBound=0, ScalingAdjustment=config.workers.min_size)])
    periods = s.scale_in_after_idle_minutes * 60 // s.period_seconds
    metrics = [queue_metric("visible", names.JOB_QUEUE, "ApproximateNumberOfMessagesVisible", s.period_seconds),
               queue_metric("running", names.JOB_QUEUE, "ApproximateNumberOfMessagesNotVisible", s.period_seconds)]
    alarm = sum_of_queues_alarm(
        names.IDLE_ALARM, f"No job queued or running for {s.scale_in_after_idle_minutes} minutes: "
                          f"scale workers back to {config.workers.min_size}",
        metrics, comparison="LessThanOrEqualToThreshold", periods=periods, missing="breaching",
        actions=[Ref(policy)])
    return [policy, alarm]
