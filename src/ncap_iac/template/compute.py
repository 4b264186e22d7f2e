"""The worker group: instance role and profile, launch template (IMDSv2, encrypted root volume,
user data that makes the jobs' unprivileged user, shuts it out of the metadata service and starts
the worker agent), the auto scaling group from zero with a terminating lifecycle hook (a running
job is queued again before its instance goes), and step scaling driven by CloudWatch alarms on the
job queue.

The instance role reaches no lab data: it takes jobs from the queue, sends notices, protects its
instance from scale-in while a job runs, and assumes the labs' job roles (jobs.py), through which
the agent does everything in S3."""
from __future__ import annotations

from troposphere import AWSObject, GetAtt, GetAZs, Output, Parameter, Ref, Sub
from troposphere.autoscaling import (
    AutoScalingGroup,
    InstanceReusePolicy,
    InstancesDistribution,
    LaunchTemplate,
    LaunchTemplateOverrides,
    LaunchTemplateSpecification,
    LifecycleHookSpecification,
    MixedInstancesPolicy,
    ScalingPolicy,
    StepAdjustments,
    Tags,
    WarmPool,
)
from troposphere.cloudwatch import Alarm, MetricDimension
from troposphere.ec2 import (
    EBSBlockDevice,
    HibernationOptions,
    IamInstanceProfile,
    LaunchTemplateBlockDeviceMapping,
    LaunchTemplateData,
    MetadataOptions,
    TagSpecifications,
)
from troposphere.iam import InstanceProfile

from .. import names
from ..config.model import SpotTypes, StackConfig, Stage
from ..images import default_image
from ..lambda_repo.ncap_lambda.ledger import LEDGER_PREFIX
from ..lambda_repo.ncap_lambda.roles import job_role_name, job_role_path
from . import iam, jobs
from .image import image_id as built_image_id
from .monitoring import queue_metric, sum_of_queues_alarm, topic_key_statement
from .queue import job_queue_arn
from .tags import pipeline_tags
from .user_data import has_warm_pool, stage_code_key, user_data


def resources(config: StackConfig) -> list[AWSObject]:
    """One instance role and profile for the pipeline, and the job role its agents assume for each
    lab; a launch template, group and scaling per stage, and per Spot stage with a fallback the
    same again for its on-demand group."""
    stages = config.worker_stages
    return [_role(config), InstanceProfile(names.INSTANCE_PROFILE, Roles=[Ref(names.INSTANCE_ROLE)]),
            jobs.job_role(config, GetAtt(names.INSTANCE_ROLE, "Arn")),
            *[part for position, stage in enumerate(stages) for on_demand in stage.capacities for part in (
                _launch_template(config, stage, stages[position + 1] if position + 1 < len(stages) else None,
                                 on_demand),
                _group(config, stage, on_demand), *_warm_pool(stage, on_demand),
                *_scale_out(stage, on_demand), *_scale_in(stage, on_demand))]]


def _id(logical_id: str, stage: Stage, on_demand: bool) -> str:
    """A stage's resource, or the same resource of its on-demand group."""
    found = names.in_stage(logical_id, stage.name)
    return names.on_demand(found) if on_demand else found




def outputs(config: StackConfig) -> list[Output]:
    first = " (of the first stage)" if config.stages else ""
    found = [Output(names.WORKER_GROUP_OUTPUT, Description=f"The auto scaling group of workers{first}",
                    Value=Ref(names.in_stage(names.WORKER_GROUP, config.worker_stages[0].name)))]
    found += [Output(names.in_stage(names.WORKER_GROUP_OUTPUT, stage.name),
                     Description=f"The auto scaling group of stage {stage.name}",
                     Value=Ref(names.in_stage(names.WORKER_GROUP, stage.name))) for stage in config.stages]
    return found + [Output(names.in_stage(names.ON_DEMAND_GROUP_OUTPUT, stage.name),
                           Description=f"The on-demand group{_of(stage)}: datasets Spot interrupted too often",
                           Value=Ref(_id(names.WORKER_GROUP, stage, True)))
                    for stage in config.worker_stages if stage.workers.on_demand_fallback]


def group_arn(config: StackConfig, stage: Stage, on_demand: bool = False):
    name = names.worker_group_name(config.pipeline_name, stage.name, on_demand)
    return Sub("arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:"
               f"autoScalingGroupName/{name}")


def _role(config: StackConfig):
    """The instance role of every stage's workers: each takes jobs from a stage's queue (and hands
    a dataset on to the next stage's), and none reaches lab data."""
    pipeline, stages = config.pipeline_name, config.worker_stages
    groups = [group_arn(config, stage, on_demand) for stage in stages for on_demand in stage.capacities]
    return iam.service_role(names.INSTANCE_ROLE, "ec2.amazonaws.com", "worker", [
        # the job role, each session tagged with the lab it is for (its trust policy requires the tag)
        iam.statement("AssumeJobRole", ["sts:AssumeRole", "sts:TagSession"],
                      [iam.iam_arn(f"role{job_role_path(pipeline)}{job_role_name(pipeline)}")]),
        iam.statement("ConsumeJobs", ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                                      "sqs:GetQueueAttributes", "sqs:SendMessage"],
                      [job_queue_arn(config, stage, on_demand) for stage in stages
                       for on_demand in stage.capacities]),
        iam.statement("NotifyLabs", ["sns:Publish"], [Ref(names.TOPIC)]),
        topic_key_statement(),
        iam.statement("ProtectRunningJobs", ["autoscaling:CompleteLifecycleAction",
                                             "autoscaling:SetInstanceProtection"], groups),
        iam.statement("LeaveWhenIdle", ["autoscaling:TerminateInstanceInAutoScalingGroup"], groups),
        # DescribeAutoScalingInstances takes no resource-level permission: "*" is its only resource.
        iam.statement("WatchOwnInstance", ["autoscaling:DescribeAutoScalingInstances"], ["*"]),
        *_hand_off_statements(config),
        *_warm_pool_statements(config),
        *_ledger_statements(config),
        *_spot_price_statements(config),
        _artifacts_statement(config),
    ])


def _warm_pool_statements(config: StackConfig) -> list[dict]:
    """An agent of a group with a warm pool compares its instance's launch template version with the
    group's (an instance that stood in the pool through a deploy abandons its launch).
    DescribeAutoScalingGroups takes no resource-level permission: "*" is its only resource."""
    if not any(stage.scaling.warm_pool for stage in config.worker_stages):
        return []
    return [iam.statement("CheckLaunchTemplateVersion", ["autoscaling:DescribeAutoScalingGroups"], ["*"])]


def _spot_price_statements(config: StackConfig) -> list[dict]:
    """A Spot worker prices its time from EC2's Spot price history for the ledger. The call reads
    public prices only and takes no resource-level permission: "*" is its only resource."""
    if not any(stage.workers.spot for stage in config.worker_stages):
        return []
    return [iam.statement("PriceSpotTime", ["ec2:DescribeSpotPriceHistory"], ["*"])]


def parameters(config: StackConfig) -> list[Parameter]:
    """What ncap package/deploy (and the local cloud) upload before the stack is made, and the
    prices they look up."""
    return _artifact_parameters() + price_parameters(config)


def price_parameters(config: StackConfig) -> list[Parameter]:
    """An hourly price the budgets need and the table lacks, filled in by ncap deploy."""
    types = sorted({stage.workers.instance_type for stage in config.worker_stages if stage.workers.price_at_deploy})
    return [Parameter(names.price_parameter(kind), Type="String", AllowedPattern=r"^[0-9]+(\.[0-9]+)?$",
                      Description=f"On-demand hourly price of {kind} in {config.region} in USD (ncap deploy "
                                  f"reads it from the AWS Price List API)") for kind in types]


def _artifact_parameters() -> list[Parameter]:
    return [Parameter(names.ARTIFACT_BUCKET_PARAMETER, Type="String",
                      AllowedPattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                      Description="The bucket holding the worker agent bundle and the pipeline's analysis code "
                                  "(ncap package and ncap deploy upload both and set this)"),
            Parameter(names.AGENT_BUNDLE_PARAMETER, Type="String", AllowedPattern=r"^ncap/agent/[0-9a-f]{64}\.zip$",
                      Description="The key of the worker agent bundle in ArtifactBucket: ncap/agent/SHA256.zip")]


def _artifacts_statement(config: StackConfig) -> dict:
    """An instance reads the agent bundle and its stages' analysis code, nothing else of the
    artifact bucket."""
    objects = [f"${{{names.AGENT_BUNDLE_PARAMETER}}}",
               *sorted({key for key in map(stage_code_key, config.worker_stages) if key})]
    return iam.statement("InstallAgent", ["s3:GetObject"],
                         [Sub(f"arn:${{AWS::Partition}}:s3:::${{{names.ARTIFACT_BUCKET_PARAMETER}}}/{key}")
                          for key in objects])


def _hand_off_statements(config: StackConfig) -> list[dict]:
    """A stage's worker asks the next stage's group for capacity when it hands a dataset on, and a
    Spot worker asks its stage's on-demand group when it queues a dataset there."""
    later = [group_arn(config, stage) for stage in config.worker_stages[1:]]
    fallbacks = [group_arn(config, stage, True) for stage in config.worker_stages if stage.workers.on_demand_fallback]
    if not later and not fallbacks:
        return []
    asked = [iam.statement("RequestNextStageCapacity", ["autoscaling:SetDesiredCapacity"], later)] if later else []
    if fallbacks:
        asked.append(iam.statement("RequestOnDemandCapacity", ["autoscaling:SetDesiredCapacity"], fallbacks))
    return [*asked,
            # DescribeAutoScalingGroups takes no resource-level permission either.
            iam.statement("ReadNextStageCapacity", ["autoscaling:DescribeAutoScalingGroups"], ["*"])]


def _ledger_statements(config: StackConfig) -> list[dict]:
    """The agent records each attempt's cost in the ledger, outside every lab's folders."""
    if all(s.workers.hourly_price_usd is None and not s.workers.price_at_deploy for s in config.worker_stages):
        return []
    return [iam.statement("RecordSpend", ["s3:PutObject"], [iam.object_arn(config.pipeline_name, LEDGER_PREFIX + "*")])]


def _launch_template(config: StackConfig, stage: Stage, next_stage: Stage | None, on_demand: bool) -> AWSObject:
    from troposphere.ec2 import LaunchTemplate as Ec2LaunchTemplate

    w = stage.workers
    data = LaunchTemplateData(
        ImageId=built_image_id(stage) if w.image else image_id(w), InstanceType=w.instance_type,
        IamInstanceProfile=IamInstanceProfile(Arn=GetAtt(names.INSTANCE_PROFILE, "Arn")),
        MetadataOptions=MetadataOptions(HttpTokens="required", HttpEndpoint="enabled",
                                        HttpPutResponseHopLimit=1),
        BlockDeviceMappings=[LaunchTemplateBlockDeviceMapping(DeviceName=w.root_device_name, Ebs=EBSBlockDevice(
            Encrypted=True, VolumeSize=w.volume_size_gib, VolumeType="gp3", DeleteOnTermination=True))],
        InstanceInitiatedShutdownBehavior=w.shutdown_behavior,
        TagSpecifications=[TagSpecifications(ResourceType=kind, Tags=pipeline_tags(config))
                           for kind in ("instance", "volume")],
        UserData=user_data(config, stage, next_stage, on_demand))
    if w.key_name:
        data.KeyName = w.key_name
    pool = stage.scaling.warm_pool
    if pool is not None and pool.state == "Hibernated" and has_warm_pool(stage, on_demand):
        data.HibernationOptions = HibernationOptions(Configured=True)  # a pool can hibernate only these
    _security_groups(data, w.security_groups)
    return Ec2LaunchTemplate(_id(names.LAUNCH_TEMPLATE, stage, on_demand), LaunchTemplateData=data,
                             LaunchTemplateName=names.worker_group_name(config.pipeline_name, stage.name, on_demand))


def image_id(w) -> str:
    """The config's AMI, else the default image's SSM parameter, resolved by CloudFormation at each
    deploy (the config checks refused instance types without one)."""
    if w.ami:
        return w.ami
    found = default_image(w.instance_type)
    assert not isinstance(found, str), found
    return found.image_id


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


# How long an instance may take from launch to its agent being ready, with a warm pool (the agent
# completes the launching lifecycle action; an instance that never does is abandoned: terminated).
LAUNCHING_HOOK_SECONDS = 900


def _group(config: StackConfig, stage: Stage, on_demand: bool) -> AutoScalingGroup:
    """The stage's group (on Spot when the config says so), or its on-demand group, from zero."""
    w, launch_template = stage.workers, _id(names.LAUNCH_TEMPLATE, stage, on_demand)
    name = names.worker_group_name(config.pipeline_name, stage.name, on_demand)
    template = LaunchTemplateSpecification(LaunchTemplateId=Ref(launch_template),
                                           Version=GetAtt(launch_template, "LatestVersionNumber"))
    hooks = [LifecycleHookSpecification(
        LifecycleHookName=names.TERMINATING_HOOK, LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
        HeartbeatTimeout=TERMINATING_HOOK_SECONDS, DefaultResult="CONTINUE")]
    if has_warm_pool(stage, on_demand):
        hooks.append(LifecycleHookSpecification(
            LifecycleHookName=names.LAUNCHING_HOOK, LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
            HeartbeatTimeout=LAUNCHING_HOOK_SECONDS, DefaultResult="ABANDON"))
    group = AutoScalingGroup(
        _id(names.WORKER_GROUP, stage, on_demand), AutoScalingGroupName=name,
        MinSize="0" if on_demand else str(w.min_size), MaxSize=str(w.max_size),
        LifecycleHookSpecificationList=hooks,
        Tags=Tags(Name=name, NcapPipeline=config.pipeline_name,
                  **{names.PIPELINE_TAG: config.pipeline_name}))
    if w.subnets:
        group.VPCZoneIdentifier = list(w.subnets)
    else:
        group.AvailabilityZones = GetAZs("")
    if w.spot and not on_demand:
        _on_spot(group, template, w.spot_types)
    else:
        group.LaunchTemplate = template
    return group


def _on_spot(group: AutoScalingGroup, template: LaunchTemplateSpecification, spot: SpotTypes | None) -> None:
    """Spot capacity, price-capacity-optimized over the instance types (one launch template for all),
    replaced early when Spot signals a raised risk of interruption."""
    group.CapacityRebalance = True
    launch = LaunchTemplate(LaunchTemplateSpecification=template)
    if spot is not None:
        launch.Overrides = [LaunchTemplateOverrides(InstanceType=kind) for kind in spot.instance_types]
    group.MixedInstancesPolicy = MixedInstancesPolicy(
        LaunchTemplate=launch,
        InstancesDistribution=InstancesDistribution(
            OnDemandBaseCapacity=spot.on_demand_base if spot else 0, OnDemandPercentageAboveBaseCapacity=0,
            SpotAllocationStrategy="price-capacity-optimized"))


def _warm_pool(stage: Stage, on_demand: bool) -> list[AWSObject]:
    """Scaling.WarmPool beside the group AWS allows one: exactly Size instances kept stopped (or
    hibernated; MinSize equal to MaxGroupPreparedCapacity fixes the pool's size), and an instance the
    group scales in goes back to the pool while it has room."""
    pool = stage.scaling.warm_pool
    if pool is None or not has_warm_pool(stage, on_demand):
        return []
    return [WarmPool(_id(names.WARM_POOL, stage, on_demand), AutoScalingGroupName=Ref(_id(names.WORKER_GROUP, stage,
                                                                                            on_demand)),
                     MinSize=pool.size, MaxGroupPreparedCapacity=pool.size, PoolState=pool.state,
                     InstanceReusePolicy=InstanceReusePolicy(ReuseOnScaleIn=True))]


def _scale_out(stage: Stage, on_demand: bool = False) -> list[AWSObject]:
    s, queue, group = stage.scaling, *_queue_and_group(stage, on_demand)
    base = s.scale_out[0].queued_jobs
    steps = []
    for position, step in enumerate(s.scale_out):
        adjustment = StepAdjustments(MetricIntervalLowerBound=step.queued_jobs - base,
                                     ScalingAdjustment=step.add_instances)
        if position + 1 < len(s.scale_out):
            adjustment.MetricIntervalUpperBound = s.scale_out[position + 1].queued_jobs - base
        steps.append(adjustment)
    policy = ScalingPolicy(_id(names.SCALE_OUT_POLICY, stage, on_demand), AutoScalingGroupName=Ref(group),
                           PolicyType="StepScaling", AdjustmentType="ChangeInCapacity",
                           MetricAggregationType="Maximum", EstimatedInstanceWarmup=s.warmup_seconds,
                           StepAdjustments=steps)
    alarm = Alarm(_id(names.SCALE_OUT_ALARM, stage, on_demand),
                  AlarmDescription=f"{base} or more jobs queued{_of(stage, on_demand)}: add workers",
                  Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
                  Dimensions=[MetricDimension(Name="QueueName", Value=GetAtt(queue, "QueueName"))],
                  Statistic="Maximum", Period=s.period_seconds, EvaluationPeriods=s.evaluation_periods,
                  Threshold=base, ComparisonOperator="GreaterThanOrEqualToThreshold",
                  TreatMissingData="notBreaching", AlarmActions=[Ref(policy)])
    return [policy, alarm]


def _scale_in(stage: Stage, on_demand: bool = False) -> list[AWSObject]:
    s, queue, group = stage.scaling, *_queue_and_group(stage, on_demand)
    floor = 0 if on_demand else stage.workers.min_size
    policy = ScalingPolicy(_id(names.SCALE_IN_POLICY, stage, on_demand), AutoScalingGroupName=Ref(group),
                           PolicyType="StepScaling", AdjustmentType="ExactCapacity",
                           MetricAggregationType="Maximum", StepAdjustments=[StepAdjustments(
                               MetricIntervalUpperBound=0, ScalingAdjustment=floor)])
    periods = s.scale_in_after_idle_minutes * 60 // s.period_seconds
    metrics = [queue_metric("visible", queue, "ApproximateNumberOfMessagesVisible", s.period_seconds),
               queue_metric("running", queue, "ApproximateNumberOfMessagesNotVisible", s.period_seconds)]
    alarm = sum_of_queues_alarm(
        _id(names.IDLE_ALARM, stage, on_demand),
        f"No job queued or running{_of(stage, on_demand)} for {s.scale_in_after_idle_minutes} minutes: "
        f"scale workers back to {floor}",
        metrics, comparison="LessThanOrEqualToThreshold", periods=periods, missing="breaching",
        actions=[Ref(policy)])
    return [policy, alarm]


def _queue_and_group(stage: Stage, on_demand: bool = False) -> tuple[str, str]:
    return _id(names.JOB_QUEUE, stage, on_demand), _id(names.WORKER_GROUP, stage, on_demand)


def _of(stage: Stage, on_demand: bool = False) -> str:
    if on_demand:
        return " for the on-demand group" + (f" of stage {stage.name}" if stage.name else "")
    return f" for stage {stage.name}" if stage.name else ""
