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
from ..config.model import StackConfig, Stage
from ..lambda_repo.ncap_lambda.ledger import LEDGER_PREFIX
from ..lambda_repo.ncap_lambda.roles import job_role_path
from . import iam
from .agent import JOB_USER, agent_arguments
from .monitoring import queue_metric, sum_of_queues_alarm, topic_key_statement
from .queue import job_queue_arn
from .tags import pipeline_tags


def resources(config: StackConfig) -> list[AWSObject]:
    """One instance role and profile for the pipeline; a launch template, group and scaling per
    stage."""
    stages = config.worker_stages
    return [_role(config), InstanceProfile(names.INSTANCE_PROFILE, Roles=[Ref(names.INSTANCE_ROLE)]),
            *[part for position, stage in enumerate(stages) for part in (
                _launch_template(config, stage, stages[position + 1] if position + 1 < len(stages) else None),
                _group(config, stage), *_scale_out(stage), *_scale_in(stage))]]


def outputs(config: StackConfig) -> list[Output]:
    first = " (of the first stage)" if config.stages else ""
    found = [Output(names.WORKER_GROUP_OUTPUT, Description=f"The auto scaling group of workers{first}",
                    Value=Ref(names.in_stage(names.WORKER_GROUP, config.worker_stages[0].name)))]
    return found + [Output(names.in_stage(names.WORKER_GROUP_OUTPUT, stage.name),
                           Description=f"The auto scaling group of stage {stage.name}",
                           Value=Ref(names.in_stage(names.WORKER_GROUP, stage.name))) for stage in config.stages]


def job_roles_prefix() -> str:
    """The ARN prefix of the labs' job roles, as a Sub string (the agent's --job-roles)."""
    return "arn:${AWS::Partition}:iam::${AWS::AccountId}:role"


def group_arn(config: StackConfig, stage: Stage):
    name = names.worker_group_name(config.pipeline_name, stage.name)
    return Sub("arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:"
               f"autoScalingGroupName/{name}")


def _role(config: StackConfig):
    """The instance role of every stage's workers: each takes jobs from a stage's queue (and hands
    a dataset on to the next stage's), and none reaches lab data."""
    pipeline, stages = config.pipeline_name, config.worker_stages
    groups = [group_arn(config, stage) for stage in stages]
    return iam.service_role(names.INSTANCE_ROLE, "ec2.amazonaws.com", "worker", [
        iam.statement("AssumeJobRoles", ["sts:AssumeRole"], [iam.iam_arn(f"role{job_role_path(pipeline)}*")]),
        iam.statement("ConsumeJobs", ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                                      "sqs:GetQueueAttributes", "sqs:SendMessage"],
                      [job_queue_arn(config, stage) for stage in stages]),
        iam.statement("NotifyLabs", ["sns:Publish"], [Ref(names.TOPIC)]),
        topic_key_statement(),
        iam.statement("ProtectRunningJobs", ["autoscaling:CompleteLifecycleAction",
                                             "autoscaling:SetInstanceProtection"], groups),
        iam.statement("LeaveWhenIdle", ["autoscaling:TerminateInstanceInAutoScalingGroup"], groups),
        # DescribeAutoScalingInstances takes no resource-level permission: "*" is its only resource.
        iam.statement("WatchOwnInstance", ["autoscaling:DescribeAutoScalingInstances"], ["*"]),
        *_hand_off_statements(config),
        *_ledger_statements(config),
    ])


def _hand_off_statements(config: StackConfig) -> list[dict]:
    """A stage's worker asks the next stage's group for capacity when it hands a dataset on."""
    later = config.worker_stages[1:]
    if not later:
        return []
    return [iam.statement("RequestNextStageCapacity", ["autoscaling:SetDesiredCapacity"],
                          [group_arn(config, stage) for stage in later]),
            # DescribeAutoScalingGroups takes no resource-level permission either.
            iam.statement("ReadNextStageCapacity", ["autoscaling:DescribeAutoScalingGroups"], ["*"])]


def _ledger_statements(config: StackConfig) -> list[dict]:
    """The agent records each attempt's cost in the ledger, outside every lab's folders."""
    if all(stage.workers.hourly_price_usd is None for stage in config.worker_stages):
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


def user_data(config: StackConfig, stage: Stage | None = None, next_stage: Stage | None = None) -> Base64:
    """A shell script that fences the jobs' user off and starts the stage's agent; the command is
    quoted, never spliced unquoted."""
    stage = stage or config.worker_stages[0]
    argv = [stage.workers.agent_command,
            *agent_arguments(config, "@QUEUE@", "@TOPIC@", "@ROLES@", stage, next_stage, "@NEXT@"),
            "--run-as", JOB_USER]
    line = " ".join(shlex.quote(a) for a in argv).replace("${", "${!")
    line = line.replace("@QUEUE@", "${JobQueue}").replace("@TOPIC@", "${Topic}").replace("@ROLES@", "${JobRoles}")
    values = {"JobQueue": Ref(names.in_stage(names.JOB_QUEUE, stage.name)), "Topic": Ref(names.TOPIC),
              "JobRoles": Sub(job_roles_prefix() + job_role_path(config.pipeline_name))}
    if next_stage is not None:
        line = line.replace("@NEXT@", "${NextQueue}")
        values["NextQueue"] = Ref(names.in_stage(names.JOB_QUEUE, next_stage.name))
    which = f" stage {stage.name}" if stage.name else ""
    script = ("#!/bin/bash\n"
              f"# Starts the ncap worker agent of pipeline {config.pipeline_name}{which}.\n"
              "set -eu\n"
              f"{JOB_USER_SETUP}"
              f"exec {line}\n")
    return Base64(Sub(script, **values))


def _launch_template(config: StackConfig, stage: Stage, next_stage: Stage | None) -> AWSObject:
    from troposphere.ec2 import LaunchTemplate as Ec2LaunchTemplate

    w = stage.workers
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
        UserData=user_data(config, stage, next_stage))
    if w.key_name:
        data.KeyName = w.key_name
    _security_groups(data, w.security_groups)
    return Ec2LaunchTemplate(names.in_stage(names.LAUNCH_TEMPLATE, stage.name), LaunchTemplateData=data,
                             LaunchTemplateName=names.worker_group_name(config.pipeline_name, stage.name))


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


def _group(config: StackConfig, stage: Stage) -> AutoScalingGroup:
    w, launch_template = stage.workers, names.in_stage(names.LAUNCH_TEMPLATE, stage.name)
    name = names.worker_group_name(config.pipeline_name, stage.name)
    template = LaunchTemplateSpecification(LaunchTemplateId=Ref(launch_template),
                                           Version=GetAtt(launch_template, "LatestVersionNumber"))
    group = AutoScalingGroup(
        names.in_stage(names.WORKER_GROUP, stage.name), AutoScalingGroupName=name,
        MinSize=str(w.min_size), MaxSize=str(w.max_size),
        LifecycleHookSpecificationList=[LifecycleHookSpecification(
            LifecycleHookName=names.TERMINATING_HOOK, LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
            HeartbeatTimeout=TERMINATING_HOOK_SECONDS, DefaultResult="CONTINUE")],
        Tags=Tags(Name=name, NcapPipeline=config.pipeline_name,
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


def _scale_out(stage: Stage) -> list[AWSObject]:
    s, queue, group = stage.scaling, *_queue_and_group(stage)
    base = s.scale_out[0].queued_jobs
    steps = []
    for position, step in enumerate(s.scale_out):
        adjustment = StepAdjustments(MetricIntervalLowerBound=step.queued_jobs - base,
                                     ScalingAdjustment=step.add_instances)
        if position + 1 < len(s.scale_out):
            adjustment.MetricIntervalUpperBound = s.scale_out[position + 1].queued_jobs - base
        steps.append(adjustment)
    policy = ScalingPolicy(names.in_stage(names.SCALE_OUT_POLICY, stage.name), AutoScalingGroupName=Ref(group),
                           PolicyType="StepScaling", AdjustmentType="ChangeInCapacity",
                           MetricAggregationType="Maximum", EstimatedInstanceWarmup=s.warmup_seconds,
                           StepAdjustments=steps)
    alarm = Alarm(names.in_stage(names.SCALE_OUT_ALARM, stage.name),
                  AlarmDescription=f"{base} or more jobs queued{_of(stage)}: add workers",
                  Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
                  Dimensions=[MetricDimension(Name="QueueName", Value=GetAtt(queue, "QueueName"))],
                  Statistic="Maximum", Period=s.period_seconds, EvaluationPeriods=s.evaluation_periods,
                  Threshold=base, ComparisonOperator="GreaterThanOrEqualToThreshold",
                  TreatMissingData="notBreaching", AlarmActions=[Ref(policy)])
    return [policy, alarm]


def _scale_in(stage: Stage) -> list[AWSObject]:
    s, queue, group = stage.scaling, *_queue_and_group(stage)
    policy = ScalingPolicy(names.in_stage(names.SCALE_IN_POLICY, stage.name), AutoScalingGroupName=Ref(group),
                           PolicyType="StepScaling", AdjustmentType="ExactCapacity",
                           MetricAggregationType="Maximum", StepAdjustments=[StepAdjustments(
                               MetricIntervalUpperBound=0, ScalingAdjustment=stage.workers.min_size)])
    periods = s.scale_in_after_idle_minutes * 60 // s.period_seconds
    metrics = [queue_metric("visible", queue, "ApproximateNumberOfMessagesVisible", s.period_seconds),
               queue_metric("running", queue, "ApproximateNumberOfMessagesNotVisible", s.period_seconds)]
    alarm = sum_of_queues_alarm(
        names.in_stage(names.IDLE_ALARM, stage.name),
        f"No job queued or running{_of(stage)} for {s.scale_in_after_idle_minutes} minutes: "
        f"scale workers back to {stage.workers.min_size}",
        metrics, comparison="LessThanOrEqualToThreshold", periods=periods, missing="breaching",
        actions=[Ref(policy)])
    return [policy, alarm]


def _queue_and_group(stage: Stage) -> tuple[str, str]:
    return names.in_stage(names.JOB_QUEUE, stage.name), names.in_stage(names.WORKER_GROUP, stage.name)


def _of(stage: Stage) -> str:
    return f" for stage {stage.name}" if stage.name else ""
