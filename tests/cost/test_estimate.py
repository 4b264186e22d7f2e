"""`ncap cost estimate`: a simple month played through the simulator, idle and boots included;
the same price lookup as the budgets; what cannot be estimated says why in one line."""
from __future__ import annotations

import json

import pytest

from ncap_iac.config import load_document
from ncap_iac.cost.estimate import Workload, estimate
from ncap_iac.cost.policy import policy_from_config
from ncap_iac.cost.simulate import simulate
from ncap_iac.cost.workload import even_trace
from ncap_iac.errors import NcapError

from .test_commands import run
from conftest import example_config
from factories import minimal_config

DEMO = example_config("local-demo")


def test_even_trace_spreads_submissions_of_a_batch_over_the_month():
    jobs = even_trace(7, 30, batch=3, days=30)
    assert [j.submit_s for j in jobs] == [0.0] * 3 + [864000.0] * 3 + [1728000.0]
    assert {j.duration_s for j in jobs} == {1800.0} and even_trace(7, 30, 3) == jobs


def test_the_estimate_is_the_simulators_figure_for_that_month(tmp_path):
    config = load_document(minimal_config(), tmp_path)
    found = estimate(config, Workload(40, 30, batch=4))
    assert found.result == simulate(even_trace(40, 30, 4), policy_from_config(config), 180.0)
    assert found.result.lower_bound_usd == pytest.approx(40 * 0.5 * 0.90)  # p2.xlarge, us-east-1
    assert found.result.cost_usd > found.result.lower_bound_usd  # boots and idle minutes are paid
    assert found.result.idle_usd > 0 and found.fits_the_month


def test_prints_the_month_with_its_method_and_the_labs_budgets(capsys, tmp_path):
    path = tmp_path / "stack_config.json"
    path.write_text(json.dumps(minimal_config(Budgets={"PerLabMonthlyUSD": 100})))
    assert run(["cost", "estimate", str(tmp_path), "--jobs-per-month", "60", "--minutes", "20", "--batch", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("test-pipeline: 60 jobs a month of 20 min, 3 per submission, submissions evenly spread over "
                        "30 days; p2.xlarge at $0.9/h, boot 180 s")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "monthly cost", "idle and boots", "lower bound", "instance-hours", "most instances", "wait p50", "wait p95",
        "labs' budgets", "method"]
    assert lines[3] == "lower bound:       $18.00 (the jobs' run time at the hourly price)"
    assert lines[-2].startswith("labs' budgets:     $100.00 a month (")
    assert "cost simulator" in lines[-1]


def test_json_has_the_figures_and_the_workload(capsys):
    assert run(["cost", "estimate", str(DEMO.parent), "--jobs-per-month", "10", "--minutes", "5", "--json",
                "--hourly-price", "1", "--boot-seconds", "60"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["hourly_price_usd"] == 1 and printed["lower_bound_usd"] == round(10 * 5 / 60, 4)
    assert {k: printed[k] for k in ("jobs_per_month", "minutes", "batch", "boot_s", "days", "budget_usd",
                                    "fits_the_month", "instance_type")} == {
        "jobs_per_month": 10, "minutes": 5.0, "batch": 1, "boot_s": 60.0, "days": 30, "budget_usd": None,
        "fits_the_month": True, "instance_type": "t3.micro"}


def test_more_work_than_the_group_can_run_in_a_month_is_said(capsys):
    assert run(["cost", "estimate", str(DEMO.parent), "--jobs-per-month", "1500", "--minutes", "60",
                "--batch", "100"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        "warning: 2 instances at most (Workers.MaxSize) cannot run 1500 instance-hours in 30 days")


@pytest.mark.parametrize("argv, message", [
    pytest.param(["--jobs-per-month", "0", "--minutes", "5"], "--jobs-per-month: must be at least 1", id="no-jobs"),
    pytest.param(["--jobs-per-month", "lots", "--minutes", "5"], "--jobs-per-month: not a whole number", id="words"),
    pytest.param(["--jobs-per-month", "5", "--minutes", "0"], "--minutes: must be above 0", id="zero-minutes"),
    pytest.param(["--jobs-per-month", "5", "--minutes", "nan"], "--minutes: must be above 0", id="nan-minutes"),
    pytest.param(["--jobs-per-month", "5", "--minutes", "5", "--batch", "101"], "--batch: must be at least 1",
                 id="big-batch"),
])
def test_bad_numbers_are_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as caught:
        run(["cost", "estimate", str(DEMO.parent), *argv])
    assert caught.value.code == 2 and message in capsys.readouterr().err


def test_launch_false_and_an_unknown_price_are_one_line_each(tmp_path):
    stopped = tmp_path / "stopped"
    stopped.mkdir()
    doc = minimal_config()
    doc["Lambda"] = {"LambdaConfig": {"LAUNCH": False}}
    (stopped / "stack_config.json").write_text(json.dumps(doc))
    with pytest.raises(NcapError, match="LAUNCH is false: the worker group's MaxSize is 0, so no job ever runs"):
        run(["cost", "estimate", str(stopped), "--jobs-per-month", "5", "--minutes", "5"])
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    (unknown / "stack_config.json").write_text(json.dumps(minimal_config(REGION="sa-east-1")))
    with pytest.raises(NcapError, match="no hourly price for p2.xlarge in sa-east-1 .*Workers.HourlyPriceUSD, or pass "
                                        "--hourly-price"):
        run(["cost", "estimate", str(unknown), "--jobs-per-month", "5", "--minutes", "5"])
    assert run(["cost", "estimate", str(unknown), "--jobs-per-month", "5", "--minutes", "5", "--hourly-price", "2"]) == 0
