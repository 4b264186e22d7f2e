"""The job contract's status.json transitions: datasets never move backwards, final is final, the job's status is
derived from its datasets, and every field the worker does not own is kept."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ncap_lambda.contract import FAILED, QUEUED, RANK, RUNNING, SUCCESS, apply, is_final, job_status

A, B = "labA/inputs/a.csv", "labA/inputs/b.csv"


def queued(*names):
    return {"status": QUEUED, "reason": None, "submit_key": "labA/submissions/s_submit.json",
            "submit_etag": "abc", "queued": True, "job_id": "j1", "affiliate": "labA",
            "configname": None, "updated": "2026-01-01T00:00:00Z",
            "datasets": {name: {"status": QUEUED, "resultpath": f"r/{name}/"} for name in names}}


def test_running_keeps_every_field_it_does_not_own():
    new = apply(queued(A), A, {"status": RUNNING, "attempt": 1}, updated="T")
    assert new["status"] == RUNNING and new["updated"] == "T"
    assert new["datasets"][A] == {"status": RUNNING, "resultpath": f"r/{A}/", "attempt": 1}
    for field in ("submit_key", "submit_etag", "queued", "job_id", "affiliate", "configname"):
        assert new[field] == queued(A)[field]


@pytest.mark.parametrize("first, then", [
    pytest.param(SUCCESS, RUNNING, id="late-running-after-success"),
    pytest.param(SUCCESS, FAILED, id="failed-after-success"),
    pytest.param(FAILED, SUCCESS, id="success-after-failed"),
    pytest.param(FAILED, RUNNING, id="running-after-failed"),
    pytest.param(RUNNING, QUEUED, id="queued-after-running"),
])
def test_no_move_backwards_or_out_of_a_final_state(first, then):
    document = apply(queued(A), A, {"status": first})
    assert apply(document, A, {"status": then}) is None


def test_running_again_is_a_new_attempt():
    document = apply(queued(A), A, {"status": RUNNING, "attempt": 1})
    again = apply(document, A, {"status": RUNNING, "attempt": 2, "last_error": "exit 1"})
    assert again["datasets"][A]["attempt"] == 2 and again["datasets"][A]["last_error"] == "exit 1"


def test_a_rejected_job_never_runs():
    assert is_final({"status": "REJECTED", "datasets": {}}, A)


@pytest.mark.parametrize("states, expected", [
    pytest.param({A: SUCCESS, B: SUCCESS}, SUCCESS, id="all-success"),
    pytest.param({A: SUCCESS, B: FAILED}, FAILED, id="any-failed"),
    pytest.param({A: RUNNING, B: FAILED}, FAILED, id="failed-while-another-runs"),
    pytest.param({A: RUNNING, B: QUEUED}, RUNNING, id="any-running"),
    pytest.param({A: SUCCESS, B: QUEUED}, RUNNING, id="part-done-is-still-running"),
    pytest.param({A: QUEUED, B: QUEUED}, QUEUED, id="all-queued"),
])
def test_job_status_is_derived_from_datasets(states, expected):
    assert job_status({name: {"status": s} for name, s in states.items()})[0] == expected


def test_the_job_reason_names_the_failed_dataset_when_there_are_several():
    document = apply(queued(A, B), B, {"status": FAILED, "reason": "exit 3"})
    assert (document["status"], document["reason"]) == (FAILED, f"dataset {B}: exit 3")
    single = apply(queued(A), A, {"status": FAILED, "reason": "exit 3"})
    assert single["reason"] == "exit 3"


def test_a_dataset_missing_from_the_status_is_added():
    new = apply(queued(A), B, {"status": RUNNING}, resultpath="r/b/")
    assert new["datasets"][B] == {"status": RUNNING, "resultpath": "r/b/"}


@given(st.lists(st.tuples(st.sampled_from([A, B]), st.sampled_from([QUEUED, RUNNING, SUCCESS, FAILED])),
                max_size=12))
def test_any_sequence_of_writes_only_moves_forward(writes):
    document = queued(A, B)
    for name, state in writes:
        before = document["datasets"][name]["status"]
        new = apply(document, name, {"status": state})
        if new is None:
            assert before in (SUCCESS, FAILED) or RANK[state] < RANK[before]
            continue
        assert RANK[new["datasets"][name]["status"]] >= RANK[before]
        assert before not in (SUCCESS, FAILED)
        if document["status"] in (SUCCESS, FAILED):
            assert new["status"] == document["status"], "a final job status stays"
        document = new
