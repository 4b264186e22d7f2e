"""The lab's monthly budget in submit_start.handler (moto): a submission whose estimate (hourly
price x expected minutes x datasets) would take its lab past the budget, given the month's ledger,
is REJECTED with a reason naming the budget, the spend and the estimate, and nothing is queued;
another lab's, or one that fits, is queued."""
import json

import pytest

from ncap_lambda import budget
from ncap_lambda.ledger import ledger_entry, ledger_key
from ncap_lambda.settings import read_settings

import submit_start
from .test_submit_start import BUCKET, CONFIG, cloud, fileset, outcome, s3_event, upload  # noqa: F401

MONTH = "2026-03"


@pytest.fixture
def budgets(cloud, monkeypatch):
    """labA: $10 a month (the per-lab budget), labB: $100 (its own); p2.xlarge at $0.90, 60 minutes."""
    monkeypatch.setattr(budget, "current_month", lambda: MONTH)
    cloud.env(HOURLY_PRICE_USD="0.9", EXPECTED_JOB_MINUTES="60", LAB_BUDGET_USD="10",
              LAB_BUDGETS_USD=json.dumps({"labB": 100}))
    for key in ("labB/inputs/x.csv", "labA/inputs/y.csv", "labB/configs/c.yaml"):
        cloud.put(key)
    return cloud


def spent(cloud, lab, usd, job_id="old", month=MONTH):
    finished = f"{month}-02T10:00:00Z"
    entry = ledger_entry(lab, job_id, f"{lab}/inputs/old.csv", "p2.xlarge", 0.9, usd / 0.9 * 3600, finished)
    cloud.s3.put_object(Bucket=BUCKET, Key=ledger_key(lab, job_id, entry["dataname"], finished),
                        Body=json.dumps(entry).encode())


def submission(lab="labA", datanames=None):
    return {"dataname": datanames or f"{lab}/inputs/x.csv", "configname": f"{lab}/configs/c.yaml"}


def test_over_budget_is_rejected_with_the_budget_spend_and_estimate_and_another_lab_is_queued(budgets):
    spent(budgets, "labA", 9.5)
    spent(budgets, "labB", 9.5)
    assert budgets.submit(submission("labA"), name="a_submit.json")["rejected"][0]["job_id"] == "a"
    status = budgets.status("a")
    reason = ("over budget: lab labA's budget for 2026-03 is $10.00; its finished jobs cost $9.50 this month and "
              "this submission is estimated at $0.90 (1 dataset x 60 min at $0.9/h); ask the pipeline's operators "
              "to raise the budget, or submit next month")
    assert (status["status"], status["reason"], status["datasets"], status["queued"]) == ("REJECTED", reason, {},
                                                                                          False)
    assert reason in budgets.certificate("a")
    assert budgets.bodies() == []

    assert budgets.submit(submission("labB"), name="b_submit.json", lab="labB") == outcome(jobs=["b"])
    assert budgets.status("b", lab="labB")["status"] == "QUEUED"
    assert [body["affiliate"] for body in budgets.bodies()] == ["labB"]


def test_a_submission_that_fits_exactly_is_queued(budgets):
    spent(budgets, "labA", 9.1)
    assert budgets.submit(submission(), name="fits_submit.json") == outcome(jobs=["fits"])


def test_the_estimate_counts_every_dataset(budgets):
    spent(budgets, "labA", 8.5)
    result = budgets.submit(submission(datanames=["labA/inputs/x.csv", "labA/inputs/y.csv"]), name="two_submit.json")
    assert "estimated at $1.80 (2 datasets x 60 min at $0.9/h)" in result["rejected"][0]["reason"]
    assert budgets.bodies() == []


def test_only_this_months_ledger_counts(budgets):
    spent(budgets, "labA", 500, month="2026-02")
    spent(budgets, "labA", 500, month="2026-04")
    assert budgets.submit(submission(), name="new_submit.json") == outcome(jobs=["new"])


def test_the_expected_minutes_change_the_estimate(budgets):
    budgets.env(EXPECTED_JOB_MINUTES="10")
    spent(budgets, "labA", 9.8)
    assert budgets.submit(submission(), name="short_submit.json") == outcome(jobs=["short"])
    spent(budgets, "labA", 9.9, job_id="older")
    assert "estimated at $0.15 (1 dataset x 10 min" in budgets.submit(
        submission(), name="late_submit.json")["rejected"][0]["reason"]


def test_a_zero_budget_locks_the_lab_out(budgets):
    budgets.env(LAB_BUDGETS_USD=json.dumps({"labA": 0}))
    assert "budget for 2026-03 is $0.00" in budgets.submit(submission(), name="z_submit.json")["rejected"][0]["reason"]


def test_without_budgets_the_ledger_is_not_read(cloud, monkeypatch):
    spent(cloud, "labA", 10_000)
    monkeypatch.setattr(budget, "month_spend", lambda *a: pytest.fail("the ledger was read"))
    assert cloud.submit(submission(), name="free_submit.json") == outcome(jobs=["free"])


def test_an_invalid_submission_keeps_its_own_reason_and_reads_no_ledger(budgets, monkeypatch):
    monkeypatch.setattr(budget, "month_spend", lambda *a: pytest.fail("the ledger was read"))
    result = budgets.submit({"dataname": "labA/inputs/missing.csv", "configname": CONFIG}, name="m_submit.json")
    assert "not found: labA/inputs/missing.csv" in result["rejected"][0]["reason"]


def test_a_redelivered_over_budget_submission_is_quiet(budgets):
    spent(budgets, "labA", 10)
    budgets.submit(submission(), name="again_submit.json")
    key = "labA/submissions/again_submit.json"
    assert submit_start.handler(s3_event(key), None) == outcome(duplicates=["again"])


def test_a_fileset_over_budget_is_rejected(fileset, monkeypatch):
    monkeypatch.setattr(budget, "current_month", lambda: MONTH)
    fileset.env(HOURLY_PRICE_USD="0.9", LAB_BUDGET_USD="1")
    spent(fileset, "labA", 0.5)
    upload(fileset, "labA/inputs/mouse1.mp4")
    result = upload(fileset, "labA/inputs/mouse1.hpf")
    assert "over budget: lab labA's budget for 2026-03 is $1.00" in result["rejected"][0]["reason"]
    assert fileset.bodies() == []


def test_the_budget_decision_is_logged_with_its_figures(budgets, decisions):
    spent(budgets, "labA", 2)
    budgets.submit(submission(), name="log_submit.json")
    assert {"decision": "budget", "affiliate": "labA", "month": MONTH, "budget_usd": 10.0, "spent_usd": 2.0,
            "estimate_usd": 0.9} in decisions()


@pytest.mark.parametrize("env, message", [
    pytest.param({"LAB_BUDGET_USD": "10"}, "HOURLY_PRICE_USD must be set", id="budget-without-price"),
    pytest.param({"HOURLY_PRICE_USD": "cheap"}, "HOURLY_PRICE_USD must be a number", id="price-not-a-number"),
    pytest.param({"LAB_BUDGET_USD": "-1", "HOURLY_PRICE_USD": "1"}, "LAB_BUDGET_USD must be a finite number",
                 id="negative-budget"),
    pytest.param({"LAB_BUDGETS_USD": "[1]", "HOURLY_PRICE_USD": "1"}, "LAB_BUDGETS_USD must be a JSON object",
                 id="budgets-not-an-object"),
])
def test_settings_the_template_would_never_give_are_refused_plainly(env, message):
    with pytest.raises(ValueError, match=message):
        read_settings({"BUCKET_NAME": "b", "QUEUE_URL": "q", **env})


def test_settings_carry_each_labs_budget():
    settings = read_settings({"BUCKET_NAME": "b", "QUEUE_URL": "q", "HOURLY_PRICE_USD": "0.526",
                              "LAB_BUDGET_USD": "300", "LAB_BUDGETS_USD": '{"labB": 50}', "WORKER_GROUP": "p-workers"})
    assert (settings.budget_of("labA"), settings.budget_of("labB"), settings.expected_job_minutes) == (300, 50, 60)
    assert settings.worker_group == "p-workers"
    assert read_settings({"BUCKET_NAME": "b", "QUEUE_URL": "q"}).budget_of("labA") is None


def test_a_price_filled_in_at_deploy_is_added_to_the_stages_known_ones():
    """HOURLY_PRICE_USD as the template joins it when ncap deploy looked a stage's price up."""
    from ncap_lambda.settings import price_sum

    assert price_sum({"HOURLY_PRICE_USD": "0.9+3.072"}, "HOURLY_PRICE_USD") == pytest.approx(3.972)
    assert price_sum({"HOURLY_PRICE_USD": "0+3.84"}, "HOURLY_PRICE_USD") == 3.84
    assert price_sum({}, "HOURLY_PRICE_USD") is None
    with pytest.raises(ValueError, match="must be a number"):
        price_sum({"HOURLY_PRICE_USD": "0.9+cheap"}, "HOURLY_PRICE_USD")
