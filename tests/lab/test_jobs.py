"""What `ncap lab status` says of where a job ran: per dataset, how often Spot interrupted it and
the capacity and type of its latest attempt; nothing for a dataset that carries neither."""
from ncap_iac.lab.jobs import capacity_lines


def test_interruptions_and_the_capacity_of_the_last_attempt_are_shown_per_dataset():
    document = {"datasets": {
        "lab-a/inputs/b.csv": {"status": "SUCCESS", "interruptions": 2, "capacity": "on-demand",
                               "instance_type": "g4dn.xlarge"},
        "lab-a/inputs/a.csv": {"status": "RUNNING", "interruptions": 1, "capacity": "spot"},
        "lab-a/inputs/c.csv": {"status": "QUEUED"}}}
    assert capacity_lines(document) == ["  lab-a/inputs/a.csv: interrupted 1 time; spot",
                                        "  lab-a/inputs/b.csv: interrupted 2 times; on-demand g4dn.xlarge"]


def test_a_status_without_datasets_or_with_odd_entries_shows_nothing():
    assert capacity_lines({}) == []
    assert capacity_lines({"datasets": {"x": "not an entry", "y": {"interruptions": "two"}}}) == []


def test_a_labs_spend_is_summed_from_its_ledger_with_its_budget_and_what_is_left(monkeypatch):
    import json

    import boto3
    from moto import mock_aws

    from ncap_iac.lab.access import Folders, Lab
    from ncap_iac.lab.jobs import spend

    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="pipeline-p")
        for key, cost, job in (("a.json", 1.25, "j1"), ("b.json", 0.5, "j1"), ("c.json", 2.0, "j2")):
            s3.put_object(Bucket="pipeline-p", Key=f"ledger/2026-12/lab-a/{job}/{key}",
                          Body=json.dumps({"cost_usd": cost, "job_id": job}).encode())
        s3.put_object(Bucket="pipeline-p", Key="ledger/2026-12/lab-b/j3/d.json", Body=b'{"cost_usd": 9, "job_id": "j3"}')
        s3.put_object(Bucket="pipeline-p", Key="ledger/2026-12/lab-a/j2/bad.json", Body=b"not an entry")
        folders = Folders("inputs", "configs", "results", "logs", "submissions")
        found = spend(Lab(s3, "pipeline-p", "lab-a", folders, {"budget_usd": 10.0}), "2026-12")
        assert found == {"month": "2026-12", "lab": "lab-a", "spent_usd": 3.75, "jobs": 2, "unreadable": 1,
                         "budget_usd": 10.0, "left_usd": 6.25}
        unknown = spend(Lab(s3, "pipeline-p", "lab-a", folders), "2026-11")
        assert unknown == {"month": "2026-11", "lab": "lab-a", "spent_usd": 0.0, "jobs": 0, "unreadable": 0}
