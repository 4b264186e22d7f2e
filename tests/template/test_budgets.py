"""What MAXCOST, DEPLOY_LIMIT, LAUNCH and the Budgets section compile to: the group's MaxSize, the
submit function's environment and permissions, the pipeline's AWS budget; and the pipeline's tag on
every resource that costs money."""
import json

import pytest

from ncap_iac import names
from ncap_iac.compiler import compile_config
from ncap_iac.config import load

from conftest import SOURCES_FOR_TOOLS
from factories import minimal_config

TAG = "ncap:pipeline"
COSTING = ("AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::Serverless::Function", "AWS::SNS::Topic", "AWS::Logs::LogGroup")


def two_labs(**overrides):
    doc = minimal_config(UXData={"Affiliates": [{"AffiliateName": "lab-a", "UserNames": ["alice"]},
                                                {"AffiliateName": "lab-b", "UserNames": ["bob"]}]},
                         Notifications={"OperatorEmails": ["ops@example.org"]})
    doc.update(overrides)
    return doc


def ncap(**lambda_config):
    return two_labs(Lambda={"LambdaConfig": lambda_config})


def resources(compiled):
    return compiled.template["Resources"]


def environment(compiled):
    return resources(compiled)["SubmitFunction"]["Properties"]["Environment"]["Variables"]


def statements(compiled):
    role = resources(compiled)["SubmitFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    return {s["Sid"]: s for s in role["Statement"]}


def test_deploy_limit_is_the_groups_max_size(compile_doc):
    assert resources(compile_doc(ncap(DEPLOY_LIMIT="12")))["WorkerGroup"]["Properties"]["MaxSize"] == "12"


def test_launch_false_compiles_to_max_size_zero_and_no_capacity_requests(compile_doc):
    compiled = compile_doc(ncap(LAUNCH=False))
    assert resources(compiled)["WorkerGroup"]["Properties"]["MaxSize"] == "0"
    assert "WORKER_GROUP" not in environment(compiled)
    assert not {"FindWorkerGroup", "AskForWorkers", "CountQueuedJobs"} & set(statements(compiled))


def test_the_submit_function_may_ask_its_own_group_for_capacity(compile_doc):
    compiled = compile_doc(ncap(LAUNCH=True))
    assert environment(compiled)["WORKER_GROUP"] == "test-pipeline-workers"
    found = statements(compiled)
    assert found["FindWorkerGroup"]["Action"] == ["autoscaling:DescribeAutoScalingGroups"]
    assert found["FindWorkerGroup"]["Resource"] == ["*"]
    assert found["AskForWorkers"]["Action"] == ["autoscaling:SetDesiredCapacity"]
    assert found["AskForWorkers"]["Resource"][0]["Fn::Sub"].endswith(
        ":autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/test-pipeline-workers")
    assert found["CountQueuedJobs"]["Action"] == ["sqs:GetQueueAttributes"]


def test_maxcost_gives_the_function_its_budgets_price_and_minutes_and_the_ledger_only(compile_doc):
    doc = ncap(MAXCOST="300", INSTANCE_TYPE="g4dn.xlarge")
    doc["UXData"]["Affiliates"][1]["MaxCost"] = 75.5
    doc["Budgets"] = {"ExpectedJobMinutes": 90}
    compiled = compile_doc(doc)
    env = environment(compiled)
    assert {k: env[k] for k in ("HOURLY_PRICE_USD", "EXPECTED_JOB_MINUTES", "LAB_BUDGET_USD", "LAB_BUDGETS_USD")} == {
        "HOURLY_PRICE_USD": "0.526", "EXPECTED_JOB_MINUTES": "90", "LAB_BUDGET_USD": "300",
        "LAB_BUDGETS_USD": '{"lab-b":75.5}'}
    found = statements(compiled)
    assert found["ListLedger"]["Action"] == ["s3:ListBucket"]
    assert found["ListLedger"]["Condition"] == {"StringLike": {"s3:prefix": ["ledger/*"]}}
    assert found["ReadLedger"]["Action"] == ["s3:GetObject"]
    assert [r["Fn::Sub"] for r in found["ReadLedger"]["Resource"]] == ["arn:${AWS::Partition}:s3:::test-pipeline/ledger/*"]
    assert not any("ledger" in json.dumps(s) for sid, s in found.items() if sid not in ("ListLedger", "ReadLedger"))


def test_without_budgets_the_function_has_no_budget_settings_and_no_ledger_access(compile_doc):
    compiled = compile_doc(two_labs())
    assert not {"HOURLY_PRICE_USD", "LAB_BUDGET_USD", "LAB_BUDGETS_USD"} & set(environment(compiled))
    assert not {"ListLedger", "ReadLedger"} & set(statements(compiled))
    assert "PipelineBudget" not in resources(compiled)


def test_the_price_override_reaches_the_function(compile_doc):
    doc = two_labs(Budgets={"PerLabMonthlyUSD": 20})
    doc["Workers"]["HourlyPriceUSD"] = 1.23
    assert environment(compile_doc(doc))["HOURLY_PRICE_USD"] == "1.23"


def test_the_pipelines_budget_is_the_labs_total_on_its_tag_alerting_the_operators(compile_doc):
    doc = two_labs(Budgets={"PerLabMonthlyUSD": 100})
    doc["UXData"]["Affiliates"][0]["MaxCost"] = 250
    budget = resources(compile_doc(doc))["PipelineBudget"]
    assert budget["Type"] == "AWS::Budgets::Budget"
    data = budget["Properties"]["Budget"]
    assert data == {"BudgetName": "test-pipeline-monthly", "BudgetType": "COST", "TimeUnit": "MONTHLY",
                    "BudgetLimit": {"Amount": 350, "Unit": "USD"},
                    "CostFilters": {"TagKeyValue": ["user:ncap:pipeline$test-pipeline"]}}
    alerts = budget["Properties"]["NotificationsWithSubscribers"]
    assert [a["Notification"] for a in alerts] == [
        {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": t, "ThresholdType": "PERCENTAGE"}
        for t in (80, 100)]
    assert all(a["Subscribers"] == [{"SubscriptionType": "EMAIL", "Address": "ops@example.org"}] for a in alerts)


def test_no_pipeline_budget_while_a_lab_has_none(compile_doc):
    doc = two_labs()
    doc["UXData"]["Affiliates"][0]["MaxCost"] = 250
    compiled = compile_doc(doc)
    assert "PipelineBudget" not in resources(compiled)
    assert json.loads(environment(compiled)["LAB_BUDGETS_USD"]) == {"lab-a": 250}
    assert environment(compiled)["LAB_BUDGET_USD"] == ""


def test_budget_alerts_go_to_at_most_ten_operators_and_none_without_any(compile_doc):
    emails = [f"op{n}@example.org" for n in range(12)]
    budget = resources(compile_doc(two_labs(Budgets={"PerLabMonthlyUSD": 5},
                                            Notifications={"OperatorEmails": emails})))["PipelineBudget"]
    assert [s["Address"] for s in budget["Properties"]["NotificationsWithSubscribers"][0]["Subscribers"]] == emails[:10]
    quiet = resources(compile_doc(two_labs(Budgets={"PerLabMonthlyUSD": 5}, Notifications={})))["PipelineBudget"]
    assert "NotificationsWithSubscribers" not in quiet["Properties"]


@pytest.mark.parametrize("name", sorted(SOURCES_FOR_TOOLS))
def test_every_resource_that_costs_money_carries_the_pipelines_tag(name):
    source = SOURCES_FOR_TOOLS[name]
    compiled = compile_config(load(source), source.parent)
    pipeline = compiled.config.pipeline_name
    for logical_id, resource in resources(compiled).items():
        tags = resource.get("Properties", {}).get("Tags")
        if resource["Type"] == "AWS::Serverless::Function":
            assert tags.get(TAG) == pipeline, logical_id
        elif resource["Type"] in COSTING:
            assert {"Key": TAG, "Value": pipeline} in tags, logical_id
    for stage in compiled.config.worker_stages:  # every stage's group and instances
        group = resources(compiled)[names.in_stage("WorkerGroup", stage.name)]["Properties"]["Tags"]
        assert {"Key": TAG, "Value": pipeline, "PropagateAtLaunch": True} in group
        launch = resources(compiled)[names.in_stage("WorkerLaunchTemplate", stage.name)]
        data = launch["Properties"]["LaunchTemplateData"]
        assert sorted(spec["ResourceType"] for spec in data["TagSpecifications"]) == ["instance", "volume"]
        assert all(spec["Tags"] == [{"Key": TAG, "Value": pipeline}] for spec in data["TagSpecifications"])


def test_with_stages_a_submission_is_priced_at_every_stages_instance(compile_doc):
    """A dataset runs on an instance of each stage: its estimate adds their hourly prices."""
    doc = two_labs(Budgets={"PerLabMonthlyUSD": 20})
    doc["Stages"] = [{"Name": "cpu", "Workers": {"HourlyPriceUSD": 0.17}},
                     {"Name": "gpu", "Workers": {"HourlyPriceUSD": 0.9}}]
    assert environment(compile_doc(doc))["HOURLY_PRICE_USD"] == "1.07"
