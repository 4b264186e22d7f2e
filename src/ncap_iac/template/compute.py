"""The worker group: instance role and profile, launch template (IMDSv2, encrypted root volume,
user data that starts the worker agent), the auto scaling group from zero, and step scaling driven
by CloudWatch alarms on the job queue."""
from __future__ import annotations

import shlex

from troposphere import AWSObject, Base64, GetAtt, GetAZs, Output, Ref, Sub
from troposphere.autoscaling import (
    AutoScalingGroup,
    InstancesDistribution,
    LaunchTemplate,
    LaunchTemplateSpecification,
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
)
from troposphere.iam import InstanceProfile

from .. import names
from ..config.model import StackConfig
from . import iam
from .agent import agent_arguments
from .monitoring import queue_metric, sum_of_queues_alarm, topic_key_statement
from .queue import job_queue_arn


def resources(config: StackConfig) -> list[AWSObject]:
    return [_role(config), InstanceProfile(names.INSTANCE_PROFILE, Roles=[Ref(names.INSTANCE_ROLE)]),
            _launch_template(config), _group(config), *_scale_out(config), *_scale_in(config)]


def outputs(config: StackConfig) -> list[Output]:
    return [Output(names.WORKER_GROUP_OUTPUT, Description="The auto scaling group of workers",
                   Value=Ref(names.WORKER_GROUP))]


def _role(config: StackConfig):
    bucket, f = config.pipeline_name, config.folders
    return iam.service_role(names.INSTANCE_ROLE, "ec2.amazonaws.com", "worker", [
        iam.statement("ReadJobInputs", ["s3:GetObject"],
                      [iam.object_arn(bucket, f"*/{folder}/*") for folder in (f.inputs, f.configs, f.results)]),
        iam.statement("WriteJobResults", ["s3:PutObject"],
                      [iam.object_arn(bucket, f"*/{folder}/*") for folder in (f.results, f.logs)]),
        iam.statement("ConsumeJobs", ["sqs:ReceiveMessage", "sqs:DeleteMessage",
                                      "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
                      [job_queue_arn(config)]),
        iam.statement("NotifyLabs", ["sns:Publish"], [Ref(names.TOPIC)]),
        topic_key_statement(),
    ])


def user_data(config: StackConfig) -> Base64:
    """A shell script that starts the agent; the command is quoted, never spliced unquoted."""
    argv = [config.workers.agent_command, *agent_arguments(config, "@QUEUE@", "@TOPIC@")]
    line = " ".join(shlex.quote(a) for a in argv).replace("${", "${!")
    line = line.replace("@QUEUE@", "${JobQueue}").replace("@TOPIC@", "${Topic}")
    script = ("#!/bin/bash\n"
              f"# Starts the ncap worker agent of pipeline {config.pipeline_name}.\n"
              "set -eu\n"
              f"exec {line}\n")
    return Base64(Sub(script, JobQueue=Ref(names.JOB_QUEUE), Topic=Ref(names.TOPIC)))


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


def _group(config: StackConfig) -> AutoScalingGroup:
    w = config.workers
    template = LaunchTemplateSpecification(LaunchTemplateId=Ref(names.LAUNCH_TEMPLATE),
                                           Version=GetAtt(names.LAUNCH_TEMPLATE, "LatestVersionNumber"))
    group = AutoScalingGroup(
        names.WORKER_GROUP, AutoScalingGroupName=names.worker_group_name(config.pipeline_name),
        MinSize=str(w.min_size), MaxSize=str(w.max_size),
        Tags=Tags(Name=names.worker_group_name(config.pipeline_name), NcapPipeline=config.pipeline_name))
    if w.subnets:
        group.VPCZoneIdentifier = list(w.subnets)
    else:
        group.AvailabilityZones = GetAZs("")
    if w.spot:
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
