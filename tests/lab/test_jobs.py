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
