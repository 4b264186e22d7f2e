"""`ncap cost report`: each lab's spend this month from the ledger in the deployed stack's bucket
(a moto server), against its budget; a missing stack or a bad month is one clean line."""
import json

import pytest

from ncap_iac.lambda_repo.ncap_lambda.ledger import current_month, ledger_entry, ledger_key

from deploy_helpers import (  # noqa: F401  (fixtures: emulator)
    assert_clean_failure,
    cli,
    client,
    deploy,
    emulator,
    ncap,
    pipeline_copy,
)

BUCKET = "ncap-local-demo"


def with_budgets(document):
    document["Budgets"] = {"PerLabMonthlyUSD": 20}
    document["UXData"]["Affiliates"][1]["MaxCost"] = 5.5
    document["Notifications"] = {"OperatorEmails": ["ops@example.org"]}


def record(lab, job_id, dataname, seconds, finished, price=0.9):
    entry = ledger_entry(lab, job_id, dataname, "t3.micro", price, seconds, finished)
    client("s3").put_object(Bucket=BUCKET, Key=ledger_key(lab, job_id, dataname, finished),
                            Body=json.dumps(entry).encode())


def test_report_json_sums_each_labs_month_against_its_budget(capsys, tmp_path, emulator, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = pipeline_copy(tmp_path, "local-demo", with_budgets)
    code, out, err = deploy(capsys, folder)
    assert code == 0, err
    # the stack deployed with its AWS budget (moto's CloudFormation skips that resource type)
    assert "PipelineBudget" in json.loads((folder / "compiled_template.json").read_text())["Resources"]
    month = current_month()
    now = f"{month}-01T12:00:00Z"
    record("lab-a", "run1", "lab-a/inputs/x.csv", 3600, now)  # $0.90
    record("lab-a", "run1", "lab-a/inputs/y.csv", 1800, now)  # $0.45, same job
    record("lab-a", "run2", "lab-a/inputs/z.csv", 360, now)  # $0.09
    record("lab-a", "old", "lab-a/inputs/x.csv", 36000, "2001-01-01T00:00:00Z")  # another month
    record("gone-lab", "run9", "gone-lab/inputs/x.csv", 3600, now, price=2.0)  # a lab since removed
    client("s3").put_object(Bucket=BUCKET, Key=f"ledger/{month}/lab-b/bad/x.json", Body=b"{}")

    code, out, err = ncap(capsys, "cost", "report", folder, "--json")
    assert code == 0, err
    assert json.loads(out) == {"month": month, "labs": {
        "lab-a": {"spent_usd": pytest.approx(1.44), "budget_usd": 20.0, "jobs": 2},
        "lab-b": {"spent_usd": 0.0, "budget_usd": 5.5, "jobs": 0},
        "gone-lab": {"spent_usd": 2.0, "budget_usd": None, "jobs": 1}}}
    assert "1 object(s) under s3://ncap-local-demo/ledger/" in err

    code, out, err = ncap(capsys, "cost", "report", folder, "--month", "2001-01", "--json")
    assert json.loads(out)["labs"]["lab-a"] == {"spent_usd": 9.0, "budget_usd": 20.0, "jobs": 1}

    code, out, err = ncap(capsys, "cost", "report", folder)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"ncap-local-demo, {month} (s3://ncap-local-demo/ledger/{month}/ in us-east-1 at ")
    assert lines[2].split() == ["lab-a", "$1.44", "$20.00", "$18.56", "2"]
    assert lines[4].split() == ["gone-lab", "$2.00", "-", "-", "1"]
    assert lines[-1].split() == ["total", "$3.44"]


def test_no_stack_a_bad_month_and_no_folder_are_one_clean_line(tmp_path, emulator):
    folder = pipeline_copy(tmp_path, "local-demo")
    result = cli("cost", "report", folder, "--endpoint-url", emulator)
    assert_clean_failure(result, f"there is no stack ncap-local-demo in us-east-1 at {emulator}: deploy it first")
    result = cli("cost", "report", folder, "--month", "March", "--endpoint-url", emulator)
    assert_clean_failure(result, "--month: a month is YYYY-MM, like 2026-03 (got 'March')")
    result = cli("cost", "report", tmp_path / "nowhere", "--endpoint-url", emulator)
    assert_clean_failure(result, f"{tmp_path / 'nowhere'}: no such folder (expected a pipeline folder holding "
                                 f"stack_config.json)")
