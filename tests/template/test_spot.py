"""Spot over several instance types, an on-demand group for the datasets Spot interrupted too
often, and a warm pool, as compiled: what AWS gets (cfn-lint clean), and what it means."""
import json

from ncap_iac import names
from ncap_iac.compiler import compile_config
from ncap_iac.config import load, load_document

from conftest import REPO
from factories import minimal_config

FIXTURE = REPO / "tests" / "fixtures" / "configs" / "valid" / "spot-types-warm-pool.json"


def compiled(doc=None):
    config = load(FIXTURE) if doc is None else load_document(doc, REPO)
    return compile_config(config, REPO).template["Resources"]


def agent_line(resources, launch_template: str) -> str:
    text = resources[launch_template]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"][0]
    return next(line for line in text.splitlines() if line.startswith("exec "))


def test_the_spot_group_spreads_over_the_types_with_capacity_rebalance():
    group = compiled()["WorkerGroup"]["Properties"]
    assert group["CapacityRebalance"] is True and "LaunchTemplate" not in group
    policy = group["MixedInstancesPolicy"]
    assert [o["InstanceType"] for o in policy["LaunchTemplate"]["Overrides"]] == ["g4dn.xlarge", "g5.xlarge"]
    assert policy["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateId"] == {
        "Ref": "WorkerLaunchTemplate"}, "one launch template for every type"
    assert policy["InstancesDistribution"] == {"OnDemandBaseCapacity": 0, "OnDemandPercentageAboveBaseCapacity": 0,
                                               "SpotAllocationStrategy": "price-capacity-optimized"}


def test_the_on_demand_group_starts_from_zero_on_its_own_queue_with_the_warm_pool():
    resources = compiled()
    group = resources["OnDemandWorkerGroup"]["Properties"]
    assert group["MinSize"] == "0" and group["MaxSize"] == "8" and "MixedInstancesPolicy" not in group
    assert group["LaunchTemplate"]["LaunchTemplateId"] == {"Ref": "OnDemandWorkerLaunchTemplate"}
    assert resources["OnDemandWorkerLaunchTemplate"]["Properties"]["LaunchTemplateData"]["InstanceType"] == "g4dn.xlarge"
    pool = resources["OnDemandWorkerWarmPool"]["Properties"]
    assert pool == {"AutoScalingGroupName": {"Ref": "OnDemandWorkerGroup"}, "MinSize": 2, "MaxGroupPreparedCapacity": 2,
                    "PoolState": "Stopped", "InstanceReusePolicy": {"ReuseOnScaleIn": True}}
    assert [r for r in resources.values() if r["Type"] == "AWS::AutoScaling::WarmPool"] == [
        resources["OnDemandWorkerWarmPool"]], "AWS refuses a warm pool beside the Spot group"
    hooks = {h["LifecycleHookName"]: h for h in group["LifecycleHookSpecificationList"]}
    assert hooks[names.LAUNCHING_HOOK]["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_LAUNCHING"
    assert hooks[names.LAUNCHING_HOOK]["DefaultResult"] == "ABANDON", "an instance never ready is not put in service"
    assert names.LAUNCHING_HOOK not in {h["LifecycleHookName"] for h in
                                        resources["WorkerGroup"]["Properties"]["LifecycleHookSpecificationList"]}
    queue = resources["OnDemandJobQueue"]["Properties"]
    assert queue["QueueName"] == "spot-types-warm-pool-on-demand-jobs"
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["JobDeadLetterQueue", "Arn"]}
    allowed = resources["JobDeadLetterQueue"]["Properties"]["RedriveAllowPolicy"]["sourceQueueArns"]
    assert len(allowed) == 2


def test_the_scaling_of_the_on_demand_group_watches_its_own_queue_and_goes_back_to_zero():
    resources = compiled()
    alarm = resources["OnDemandQueueBacklogAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["OnDemandJobQueue", "QueueName"]}
    assert resources["OnDemandScaleOutPolicy"]["Properties"]["AutoScalingGroupName"] == {"Ref": "OnDemandWorkerGroup"}
    idle = resources["OnDemandScaleInPolicy"]["Properties"]
    assert idle["AutoScalingGroupName"] == {"Ref": "OnDemandWorkerGroup"}
    assert idle["StepAdjustments"][0]["ScalingAdjustment"] == 0


def test_spot_agents_send_a_dataset_interrupted_twice_to_the_on_demand_group_whose_agents_read_it():
    resources = compiled()
    spot = agent_line(resources, "WorkerLaunchTemplate")
    assert "--queue-url ${JobQueue}" in spot and "--on-demand-queue-url ${OnDemandQueue}" in spot
    assert "--max-interruptions 2" in spot and "--on-demand-group spot-types-warm-pool-on-demand-workers" in spot
    assert "--hourly-prices g4dn.xlarge=0.526:0.2039,g5.xlarge=1.006:0.436" in spot, \
        "each type books its own price, the table's Spot estimate when EC2's history cannot be read"
    on_demand = agent_line(resources, "OnDemandWorkerLaunchTemplate")
    assert "--queue-url ${OnDemandQueue}" in on_demand and "--on-demand-queue-url" not in on_demand
    assert "--group spot-types-warm-pool-on-demand-workers" in on_demand
    assert f"--launching-hook {names.LAUNCHING_HOOK}" in on_demand and "--launching-hook" not in spot


def named(resources: list) -> list[str]:
    """The last part of each ARN a statement names: queue names, or autoScalingGroupName/NAME."""
    return sorted(json.dumps(r).rsplit(":", 1)[-1].strip('"}') for r in resources)


def test_the_worker_role_reaches_both_queues_and_both_groups_and_no_more():
    statements = {s["Sid"]: s for s in compiled()["WorkerRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"]}
    assert named(statements["ConsumeJobs"]["Resource"]) == ["spot-types-warm-pool-jobs",
                                                            "spot-types-warm-pool-on-demand-jobs"]
    groups = ["autoScalingGroupName/spot-types-warm-pool-on-demand-workers",
              "autoScalingGroupName/spot-types-warm-pool-workers"]
    assert named(statements["ProtectRunningJobs"]["Resource"]) == groups
    assert named(statements["LeaveWhenIdle"]["Resource"]) == groups
    assert named(statements["RequestOnDemandCapacity"]["Resource"]) == groups[:1], "only the on-demand group"
    assert statements["RequestOnDemandCapacity"]["Action"] == ["autoscaling:SetDesiredCapacity"]
    assert statements["CheckLaunchTemplateVersion"]["Action"] == ["autoscaling:DescribeAutoScalingGroups"]


def test_spot_true_keeps_one_group_of_one_type_without_fallback():
    doc = minimal_config(Workers={"AMI": "ami-0123456789abcdef0", "InstanceType": "g4dn.xlarge",
                                  "Command": "run.sh {} {} {} {}", "Spot": True})
    resources = compiled(doc)
    policy = resources["WorkerGroup"]["Properties"]["MixedInstancesPolicy"]["LaunchTemplate"]
    assert "Overrides" not in policy
    assert not [k for k in resources if k.startswith(names.ON_DEMAND)]
    assert "--on-demand-queue-url" not in agent_line(resources, "WorkerLaunchTemplate")


def test_a_warm_pool_of_on_demand_workers_is_the_groups_own_and_hibernates_if_asked():
    doc = minimal_config(Scaling={"WarmPool": {"Size": 1, "State": "Hibernated"}})
    resources = compiled(doc)
    assert resources["WorkerWarmPool"]["Properties"]["AutoScalingGroupName"] == {"Ref": "WorkerGroup"}
    assert resources["WorkerWarmPool"]["Properties"]["PoolState"] == "Hibernated"
    data = resources["WorkerLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["HibernationOptions"] == {"Configured": True}, "AWS hibernates only instances launched for it"
    assert f"--launching-hook {names.LAUNCHING_HOOK}" in agent_line(resources, "WorkerLaunchTemplate")
    stopped = compiled(minimal_config(Scaling={"WarmPool": {"Size": 1}}))
    assert "HibernationOptions" not in stopped["WorkerLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert "HibernationOptions" not in compiled()["OnDemandWorkerLaunchTemplate"]["Properties"]["LaunchTemplateData"]


def test_the_spot_and_warm_pool_config_is_clean_for_cfn_lint():
    from ncap_iac.lint import lint_template

    assert lint_template(compile_config(load(FIXTURE), REPO).template, "us-east-1") == []


def test_the_budget_and_the_ledger_count_the_warm_pools_volumes():
    resources = compiled()
    limit = resources["PipelineBudget"]["Properties"]["Budget"]["BudgetLimit"]["Amount"]
    assert limit == 200 + 2 * 100 * 0.08, "the labs' budget and two stopped 100 GiB gp3 volumes a month"
    monitor = resources["MonitorFunction"]["Properties"]
    env = monitor["Environment"]["Variables"]
    assert env["WORKER_GROUP"] == "spot-types-warm-pool-workers,spot-types-warm-pool-on-demand-workers"
    assert json.loads(env["WARM_POOLS"]) == {"spot-types-warm-pool-on-demand-workers": 100 * 0.08 / 720}
    statements = {s["Sid"]: s for policy in resources["MonitorFunctionRole"]["Properties"]["Policies"]
                  for s in policy["PolicyDocument"]["Statement"] if "Sid" in s}
    assert statements["BookWarmPoolTime"]["Action"] == ["s3:PutObject"]
    assert statements["FindWarmPoolStops"]["Action"] == ["s3:ListBucket"], "else S3 answers a missing key 403"
    assert statements["FindWarmPoolStops"]["Condition"] == {"StringLike": {"s3:prefix": ["logs/instances/warm/*"]}}
    assert json.dumps(statements["BookWarmPoolTime"]["Resource"]).endswith('/ledger/*/_unattributed/warm-pool/*"}]')


def test_without_a_warm_pool_the_monitor_books_nothing_of_the_kind():
    env = compiled(minimal_config())["MonitorFunction"]["Properties"]["Environment"]["Variables"]
    assert "WARM_POOLS" not in env
