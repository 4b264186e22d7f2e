"""The worker group's scaling (each stage's, in a pipeline of stages) as it behaves, read from compiled templates (the goldens only say
that the output did not change): the scale-out alarm fires at the first step's QueuedJobs and its
policy's step intervals are contiguous from 0, each step adding its AddInstances for the queue
depths from its QueuedJobs up; the idle alarm looks at queued plus running jobs for exactly
ScaleInAfterIdleMinutes and sets the group back to MinSize."""
import pytest

from ncap_iac import names
from ncap_iac.compiler import compile_config
from ncap_iac.config import load

from conftest import EXAMPLES, example_config
from factories import minimal_config

STEPPED = minimal_config(
    Workers={"AMI": "ami-0123456789abcdef0", "Command": "run.sh", "MinSize": 1, "MaxSize": 8},
    Scaling={"ScaleOut": [{"QueuedJobs": 3, "AddInstances": 1}, {"QueuedJobs": 10, "AddInstances": 2},
                          {"QueuedJobs": 50, "AddInstances": 4}],
             "EvaluationPeriods": 3, "PeriodSeconds": 60, "ScaleInAfterIdleMinutes": 30, "WarmupSeconds": 200})
SINGLE = minimal_config(Scaling={"ScaleOut": [{"QueuedJobs": 1, "AddInstances": 2}], "PeriodSeconds": 300,
                                 "ScaleInAfterIdleMinutes": 5})


@pytest.fixture(params=[*(f"pipeline-{name}" for name in EXAMPLES), "stepped", "single-step"])
def compiled(request, compile_doc):
    """(config, resources) of an example pipeline or a config made here."""
    if request.param.startswith("pipeline-"):
        name = request.param.removeprefix("pipeline-")
        result = compile_config(load(example_config(name)), example_config(name).parent)
    else:
        result = compile_doc(STEPPED if request.param == "stepped" else SINGLE)
    return result.config, result.template["Resources"]


def each_stage(compiled):
    """(stage, the id of its own resource named `base`) for every stage of the compiled config."""
    config, resources = compiled
    for stage in config.worker_stages:
        yield stage, lambda base, stage=stage: names.in_stage(base, stage.name)


def scale_out(resources, id_of):
    return resources[id_of("ScaleOutPolicy")]["Properties"], resources[id_of("QueueBacklogAlarm")]["Properties"]


def test_the_step_intervals_are_contiguous_from_zero(compiled):
    config, resources = compiled
    for stage, id_of in each_stage(compiled):
        policy, alarm = scale_out(resources, id_of)
        steps, threshold = policy["StepAdjustments"], alarm["Threshold"]
        assert threshold == stage.scaling.scale_out[0].queued_jobs
        assert [s["MetricIntervalLowerBound"] for s in steps] == [
            step.queued_jobs - threshold for step in stage.scaling.scale_out]
        assert steps[0]["MetricIntervalLowerBound"] == 0
        for step, following in zip(steps, steps[1:]):
            assert step["MetricIntervalUpperBound"] == following["MetricIntervalLowerBound"]
        assert "MetricIntervalUpperBound" not in steps[-1], "the last step has no upper bound"
        assert [s["ScalingAdjustment"] for s in steps] == [step.add_instances for step in stage.scaling.scale_out]


def added_at(depth: int, policy: dict, alarm: dict) -> int:
    """What the group is told to add when `depth` jobs are queued: nothing while the alarm is
    not in alarm, else the adjustment of the step whose interval holds depth - threshold."""
    if not depth >= alarm["Threshold"]:  # GreaterThanOrEqualToThreshold
        return 0
    breach = depth - alarm["Threshold"]
    matching = [s for s in policy["StepAdjustments"]
                if s["MetricIntervalLowerBound"] <= breach < s.get("MetricIntervalUpperBound", float("inf"))]
    assert len(matching) == 1, (depth, matching)  # no gap, no overlap
    return matching[0]["ScalingAdjustment"]


def test_each_queue_depth_adds_the_instances_of_the_highest_step_it_reached(compiled):
    config, resources = compiled
    for stage, id_of in each_stage(compiled):
        policy, alarm = scale_out(resources, id_of)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        top = stage.scaling.scale_out[-1].queued_jobs
        for depth in range(0, top * 2 + 2):
            reached = [s.add_instances for s in stage.scaling.scale_out if depth >= s.queued_jobs]
            assert added_at(depth, policy, alarm) == (reached[-1] if reached else 0), depth


def test_the_scale_out_alarm_watches_queued_jobs_as_scaling_says(compiled):
    config, resources = compiled
    for stage, id_of in each_stage(compiled):
        policy, alarm = scale_out(resources, id_of)
        s = stage.scaling
        assert (alarm["Period"], alarm["EvaluationPeriods"]) == (s.period_seconds, s.evaluation_periods)
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum")
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [id_of("JobQueue"), "QueueName"]}}]
        assert alarm["AlarmActions"] == [{"Ref": id_of("ScaleOutPolicy")}]
        assert (policy["PolicyType"], policy["AdjustmentType"]) == ("StepScaling", "ChangeInCapacity")
        assert policy["EstimatedInstanceWarmup"] == s.warmup_seconds
        assert policy["AutoScalingGroupName"] == {"Ref": id_of("WorkerGroup")}


def test_the_idle_alarm_sees_queued_and_running_jobs_for_the_idle_minutes(compiled):
    config, resources = compiled
    for stage, id_of in each_stage(compiled):
        alarm = resources[id_of("QueueIdleAlarm")]["Properties"]
        s = stage.scaling
        queries = {m["Id"]: m for m in alarm["Metrics"]}
        watched = {q["MetricStat"]["Metric"]["MetricName"]: q for q in queries.values() if "MetricStat" in q}
        assert set(watched) == {"ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible"}
        for query in watched.values():
            assert query["MetricStat"]["Metric"]["Dimensions"] == [
                {"Name": "QueueName", "Value": {"Fn::GetAtt": [id_of("JobQueue"), "QueueName"]}}]
            assert query["ReturnData"] is False and query["MetricStat"]["Stat"] == "Maximum"
        [total] = [q for q in queries.values() if q.get("ReturnData")]
        assert sorted(total["Expression"].split(" + ")) == sorted(q["Id"] for q in watched.values())
        period = {q["MetricStat"]["Period"] for q in watched.values()}
        assert period == {s.period_seconds}
        assert alarm["EvaluationPeriods"] * s.period_seconds == s.scale_in_after_idle_minutes * 60
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "LessThanOrEqualToThreshold")
        assert alarm["TreatMissingData"] == "breaching", "a queue with no data points is idle"
        assert alarm["AlarmActions"] == [{"Ref": id_of("ScaleInPolicy")}]


def test_the_idle_policy_sets_the_group_back_to_min_size(compiled):
    config, resources = compiled
    for stage, id_of in each_stage(compiled):
        policy = resources[id_of("ScaleInPolicy")]["Properties"]
        assert (policy["PolicyType"], policy["AdjustmentType"]) == ("StepScaling", "ExactCapacity")
        assert policy["StepAdjustments"] == [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": stage.workers.min_size}]
        group = resources[id_of("WorkerGroup")]["Properties"]
        assert (int(group["MinSize"]), int(group["MaxSize"])) == (stage.workers.min_size, stage.workers.max_size)


def test_the_configs_here_are_what_they_claim():
    """The made-up configs exercise more than one step, a MinSize above 0 and the longer period."""
    assert len(STEPPED["Scaling"]["ScaleOut"]) == 3 and STEPPED["Workers"]["MinSize"] == 1
    assert SINGLE["Scaling"]["PeriodSeconds"] == 300


# --- the jobs' user, fenced off the instance metadata service ---------------------------------
# The fencing part of the user data runs here for real (bash), with stand-ins for useradd,
# iptables, ip6tables and nft that record their arguments: the real ones would change this
# machine's users and firewall, and there is no EC2 instance here.

def run_fencing(tmp_path, tools):
    import subprocess

    from ncap_iac.template.user_data import JOB_USER_SETUP

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    for tool in tools:
        stub = bin_dir / tool
        # `id USER` finds no user yet (so useradd runs); `id -u USER` then answers the new user's uid
        answer = '[ "$1" = -u ] && { echo 998; exit 0; }\nexit 1\n' if tool == "id" else ""
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n' + answer)
        stub.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin" if "system" in tools else str(bin_dir)}
    result = subprocess.run(["/bin/bash", "-c", "set -eu\n" + JOB_USER_SETUP], capture_output=True, text=True,
                            env=env, timeout=30)
    return result, calls.read_text().splitlines() if calls.exists() else []


def test_the_user_data_makes_the_jobs_user_and_rejects_its_traffic_to_the_metadata_service(tmp_path):
    result, calls = run_fencing(tmp_path, ["id", "useradd", "iptables", "ip6tables"])
    assert result.returncode == 0, result.stderr
    assert calls[1].startswith("useradd --system") and calls[1].endswith(" ncap-job")
    assert "iptables -I OUTPUT -d 169.254.169.254 -m owner --uid-owner ncap-job -j REJECT" in calls
    assert "ip6tables -I OUTPUT -d fd00:ec2::254 -m owner --uid-owner ncap-job -j REJECT" in calls


def test_the_user_data_uses_nft_where_there_is_no_iptables(tmp_path):
    result, calls = run_fencing(tmp_path, ["id", "useradd", "nft"])
    assert result.returncode == 0, result.stderr
    assert "nft add rule inet ncap output meta skuid ncap-job ip daddr 169.254.169.254 reject" in calls


def test_without_a_firewall_tool_a_routing_rule_fences_the_jobs_user(tmp_path):
    result, calls = run_fencing(tmp_path, ["id", "useradd", "ip"])
    assert result.returncode == 0, result.stderr
    assert "ip rule add uidrange 998-998 to 169.254.169.254/32 prohibit" in calls
    assert "ip -6 rule add uidrange 998-998 to fd00:ec2::254/128 prohibit" in calls


def test_without_any_fencing_tool_the_instance_starts_no_agent(tmp_path):
    result, _ = run_fencing(tmp_path, ["id", "useradd"])
    assert result.returncode == 1 and "none of iptables, nft or ip" in result.stderr


def test_the_agent_runs_jobs_as_the_fenced_user_and_the_group_protects_running_jobs():
    from ncap_iac import names

    template = compile_config(load(example_config("ncap-dlc")), example_config("ncap-dlc").parent).template
    resources = template["Resources"]
    script = resources[names.LAUNCH_TEMPLATE]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"][0]
    assert script.index("--uid-owner ncap-job") < script.index("exec ")
    assert script.rstrip().endswith("--run-as ncap-job"), "the agent starts commands as the fenced user"
    group = resources[names.WORKER_GROUP]["Properties"]
    [hook] = group["LifecycleHookSpecificationList"]
    assert hook["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING" and hook["DefaultResult"] == "CONTINUE"


@pytest.mark.parametrize("spot", [True, False])
def test_only_spot_workers_may_read_the_spot_price_history_which_prices_their_time(compile_doc, spot):
    doc = minimal_config(Workers={"AMI": "ami-0123456789abcdef0", "Command": "run.sh", "Spot": spot})
    role = compile_doc(doc).template["Resources"][names.INSTANCE_ROLE]
    statements = [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    priced = [s for s in statements if "ec2:DescribeSpotPriceHistory" in s["Action"]]
    assert priced == ([{"Sid": "PriceSpotTime", "Effect": "Allow", "Action": ["ec2:DescribeSpotPriceHistory"],
                        "Resource": ["*"]}] if spot else [])
