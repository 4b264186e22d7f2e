"""NCAP's MAXCOST, DEPLOY_LIMIT and LAUNCH, the Budgets section, an affiliate's MaxCost and the
workers' hourly price: what each compiles to, and every way one can be wrong named by its path."""
import pytest

from ncap_iac.config import load_document
from ncap_iac.errors import ConfigError

from factories import minimal_config


def ncap(**lambda_config):
    doc = minimal_config(UXData={"Affiliates": [{"AffiliateName": "lab-a", "UserNames": ["alice"]},
                                                {"AffiliateName": "lab-b", "UserNames": ["bob"]}]})
    doc["Lambda"] = {"LambdaConfig": lambda_config}
    return doc


def problems(doc, tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_document(doc, tmp_path)
    return [(i.path, i.message) for i in caught.value.issues]


@pytest.mark.parametrize("maxcost", [300, 300.0, "300", "300.00"], ids=repr)
def test_maxcost_is_each_labs_monthly_budget_a_numeric_string_included(tmp_path, maxcost):
    config = load_document(ncap(MAXCOST=maxcost), tmp_path)
    assert config.budgets.per_lab_monthly_usd == 300.0
    assert [config.lab_budget(a) for a in config.affiliates] == [300.0, 300.0]
    assert config.pipeline_budget_usd == 600.0 and config.budgets.expected_job_minutes == 60.0
    assert any(n.path == "Lambda.LambdaConfig.MAXCOST" and "300 USD" in n.message for n in config.notes)


@pytest.mark.parametrize("maxcost", ["lots", "", "1e3", "-5", " 300", "300 USD", True, None, [300], {"usd": 1}, -1],
                         ids=repr)
def test_a_maxcost_that_is_not_a_number_is_one_problem_naming_it(tmp_path, maxcost):
    found = problems(ncap(MAXCOST=maxcost), tmp_path)
    assert [path for path, _ in found] == ["Lambda.LambdaConfig.MAXCOST"], found


def test_budgets_section_and_an_affiliates_own_maxcost(tmp_path):
    doc = minimal_config(Budgets={"PerLabMonthlyUSD": 100, "ExpectedJobMinutes": 45},
                         UXData={"Affiliates": [{"AffiliateName": "lab-a", "UserNames": ["alice"], "MaxCost": 250},
                                                {"AffiliateName": "lab-b", "UserNames": ["bob"], "MaxCost": 0}]})
    config = load_document(doc, tmp_path)
    assert [config.lab_budget(a) for a in config.affiliates] == [250.0, 0.0]
    assert config.pipeline_budget_usd == 250.0 and config.budgets.expected_job_minutes == 45.0


def test_without_any_budget_no_lab_is_limited_and_ncaps_default_is_not_applied(tmp_path):
    config = load_document(minimal_config(Budgets={}), tmp_path)
    assert not config.has_budgets and config.pipeline_budget_usd is None
    assert config.budgets.expected_job_minutes == 60.0


def test_a_lab_without_a_budget_among_labs_with_one_is_a_warning(tmp_path):
    doc = ncap()
    doc["UXData"]["Affiliates"][0]["MaxCost"] = 50
    config = load_document(doc, tmp_path)
    assert config.has_budgets and config.pipeline_budget_usd is None
    assert [(w.path, w.message) for w in config.warnings if w.path == "Budgets.PerLabMonthlyUSD"] == [
        ("Budgets.PerLabMonthlyUSD", "not set, and 1 lab(s) have no MaxCost (lab-b): they are not limited, "
                                     "and the pipeline gets no AWS budget")]


def test_maxcost_and_per_lab_monthly_usd_given_differently_is_an_error_naming_both(tmp_path):
    doc = ncap(MAXCOST="300")
    doc["Budgets"] = {"PerLabMonthlyUSD": 200}
    assert problems(doc, tmp_path) == [("Budgets.PerLabMonthlyUSD", "200 USD differs from Lambda.LambdaConfig.MAXCOST "
                                                                    "300 (both are each lab's budget); set it in one "
                                                                    "place")]
    doc["Budgets"] = {"PerLabMonthlyUSD": 300}
    assert load_document(doc, tmp_path).budgets.per_lab_monthly_usd == 300.0


@pytest.mark.parametrize("limit", [7, "7"], ids=repr)
def test_deploy_limit_is_the_groups_max_size(tmp_path, limit):
    config = load_document(ncap(DEPLOY_LIMIT=limit), tmp_path)
    assert config.workers.max_size == 7 and config.workers.launch
    doc = ncap(DEPLOY_LIMIT=limit)
    doc["Workers"].update(MaxSize=7)
    assert load_document(doc, tmp_path).workers.max_size == 7
    doc["Workers"].update(MaxSize=5)
    assert problems(doc, tmp_path) == [("Workers.MaxSize", "5 differs from Lambda.LambdaConfig.DEPLOY_LIMIT 7 (both "
                                                           "are the most instances at once); set it in one place")]


@pytest.mark.parametrize("limit", [0, 1001, "100x", "0", 2.5, True], ids=repr)
def test_a_bad_deploy_limit_is_named(tmp_path, limit):
    assert [p for p, _ in problems(ncap(DEPLOY_LIMIT=limit), tmp_path)] == ["Lambda.LambdaConfig.DEPLOY_LIMIT"]


def test_launch_false_compiles_to_max_size_zero_and_launch_true_changes_nothing(tmp_path):
    stopped = load_document(ncap(LAUNCH=False, DEPLOY_LIMIT=9), tmp_path)
    assert (stopped.workers.max_size, stopped.workers.launch) == (0, False)
    assert any(n.path == "Lambda.LambdaConfig.LAUNCH" for n in stopped.notes)
    running = load_document(ncap(LAUNCH=True), tmp_path)
    assert (running.workers.max_size, running.workers.launch) == (4, True)
    doc = ncap(LAUNCH=False)
    doc["Workers"]["MinSize"] = 2
    assert [p for p, _ in problems(doc, tmp_path)] == ["Workers.MinSize"]
    assert [p for p, _ in problems(ncap(LAUNCH="false"), tmp_path)] == ["Lambda.LambdaConfig.LAUNCH"]


def test_the_hourly_price_comes_from_the_table_or_the_override(tmp_path):
    assert load_document(ncap(INSTANCE_TYPE="g4dn.xlarge"), tmp_path).workers.hourly_price_usd == 0.526
    doc = ncap(INSTANCE_TYPE="g4dn.xlarge")
    doc["Workers"]["HourlyPriceUSD"] = 0.4
    assert load_document(doc, tmp_path).workers.hourly_price_usd == 0.4


def test_an_unknown_type_or_region_is_a_warning_without_budgets_and_looked_up_at_deploy_with_them(tmp_path):
    doc = ncap(INSTANCE_TYPE="x9.huge")
    config = load_document(doc, tmp_path)
    assert config.workers.hourly_price_usd is None
    assert [(w.path, w.message) for w in config.warnings] == [
        ("Workers.HourlyPriceUSD", "the price table (2024-06) has no hourly price for x9.huge in us-east-1: cost "
                                   "estimates need Workers.HourlyPriceUSD")]
    doc["Lambda"]["LambdaConfig"]["MAXCOST"] = 300
    load_document(doc, tmp_path)  # no config is refused only for a missing price
    budgeted = load_document(doc, tmp_path)
    assert budgeted.workers.price_at_deploy and not [w for w in budgeted.warnings if w.path == "Workers.HourlyPriceUSD"]
    assert [n.message for n in budgeted.notes if n.path == "Workers.HourlyPriceUSD"] == [
        "the price table (2024-06) has no hourly price for x9.huge in us-east-1: the labs' budgets need it, so ncap "
        "deploy looks it up in the AWS Price List API (pricing:GetProducts) and passes it to the stack; set "
        "Workers.HourlyPriceUSD to fix it here"]
    doc["Workers"]["HourlyPriceUSD"] = 1.5
    given = load_document(doc, tmp_path)
    assert given.workers.hourly_price_usd == 1.5 and not given.workers.price_at_deploy
    other_region = load_document(minimal_config(REGION="sa-east-1", Budgets={"PerLabMonthlyUSD": 10}), tmp_path)
    assert any("p2.xlarge in sa-east-1" in n.message for n in other_region.notes)


@pytest.mark.parametrize("budgets, path", [
    pytest.param({"PerLabMonthlyUSD": "300"}, "Budgets.PerLabMonthlyUSD", id="string-per-lab"),
    pytest.param({"PerLabMonthlyUSD": -1}, "Budgets.PerLabMonthlyUSD", id="negative"),
    pytest.param({"ExpectedJobMinutes": 0}, "Budgets.ExpectedJobMinutes", id="zero-minutes"),
    pytest.param({"Monthly": 3}, "Budgets.Monthly", id="unknown-key"),
])
def test_a_bad_budgets_section_is_named(tmp_path, budgets, path):
    assert [p for p, _ in problems(minimal_config(Budgets=budgets), tmp_path)] == [path]


def test_budget_alerts_without_operators_or_with_more_than_aws_takes_are_warnings(tmp_path):
    config = load_document(minimal_config(Budgets={"PerLabMonthlyUSD": 10}), tmp_path)
    assert any(w.path == "Notifications.OperatorEmails" and "reach nobody" in w.message for w in config.warnings)
    emails = [f"op{n}@example.org" for n in range(11)]
    config = load_document(minimal_config(Budgets={"PerLabMonthlyUSD": 10},
                                          Notifications={"OperatorEmails": emails}), tmp_path)
    assert any(w.path == "Notifications.OperatorEmails" and "first 10" in w.message for w in config.warnings)


def test_too_many_labs_with_budgets_of_their_own_for_the_functions_environment(tmp_path):
    labs = [{"AffiliateName": f"lab-with-a-long-name-{n:03d}", "UserNames": [f"u{n}"], "MaxCost": 100 + n}
            for n in range(80)]
    found = problems(minimal_config(UXData={"Affiliates": labs}), tmp_path)
    assert [p for p, _ in found] == ["UXData.Affiliates"] and "Budgets.PerLabMonthlyUSD" in found[0][1]
