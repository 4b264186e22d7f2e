"""Cancelling in the job contract: CANCELLED is final; a cancel request cancels every dataset not
yet running (at every stage) and leaves running ones to their workers; a job that ended is not
cancelled; the job's status is CANCELLED once every dataset ended and one was cancelled."""
import pytest

from ncap_lambda.contract import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCESS,
    apply,
    cancel_requested,
    job_status,
    new_document,
    with_cancel,
)

from .test_contract import A, B, queued

REQUEST = "labA/submissions/j1-cancel.json"


def test_a_cancel_request_cancels_what_did_not_start_and_leaves_running_datasets_to_their_workers():
    running = apply(queued(A, B), A, {"status": RUNNING, "attempt": 1})
    new = with_cancel(running, REQUEST, when="T")
    assert cancel_requested(new) and new["cancel_requested"] == {"at": "T", "key": REQUEST}
    assert new["datasets"][A]["status"] == RUNNING
    assert new["datasets"][B] == {"status": CANCELLED, "resultpath": f"r/{B}/", "reason": "cancelled before it ran",
                                  "finished": "T"}
    assert new["status"] == RUNNING  # until the worker stops A
    stopped = apply(new, A, {"status": CANCELLED, "partial": True})
    assert (stopped["status"], stopped["reason"]) == (CANCELLED, "cancelled by a member of the lab")


def test_a_job_that_ended_is_not_cancelled_and_cancelled_is_final():
    done = apply(queued(A), A, {"status": SUCCESS})
    assert with_cancel(done, REQUEST) is None
    assert with_cancel({**queued(A), "status": "REJECTED"}, REQUEST) is None
    cancelled = with_cancel(queued(A), REQUEST)
    assert cancelled["status"] == CANCELLED
    for later in (RUNNING, SUCCESS, FAILED):
        assert apply(cancelled, A, {"status": later}) is None


@pytest.mark.parametrize("states, expected", [
    pytest.param({A: CANCELLED, B: SUCCESS}, CANCELLED, id="part-done-part-cancelled"),
    pytest.param({A: CANCELLED, B: FAILED}, FAILED, id="failed-wins"),
    pytest.param({A: CANCELLED, B: RUNNING}, RUNNING, id="still-stopping"),
])
def test_the_job_status_with_cancelled_datasets(states, expected):
    assert job_status({name: {"status": s} for name, s in states.items()})[0] == expected


def test_a_staged_job_is_cancelled_at_every_stage():
    job = type("Job", (), {"submit_key": "k", "job_id": "j1", "affiliate": "labA", "configname": None,
                           "submit_etag": "e"})
    document = new_document(job, QUEUED, None, {A: "r/a/", B: "r/b/"}, True, "t0", ("pre", "inf"))
    document = apply(document, A, {"status": SUCCESS}, stage="pre", next_stage="inf")
    document = apply(document, A, {"status": RUNNING}, stage="inf")
    new = with_cancel(document, REQUEST, when="T")
    assert {stage: value["status"] for stage, value in new["datasets"][B]["stages"].items()} == \
        {"pre": CANCELLED, "inf": CANCELLED}
    stopped = apply(new, A, {"status": CANCELLED, "partial": True}, stage="inf")
    assert stopped["datasets"][A]["stages"]["pre"]["status"] == SUCCESS
    assert stopped["datasets"][A]["stages"]["inf"]["status"] == CANCELLED
    assert stopped["status"] == CANCELLED and stopped["stages"]["inf"]["status"] == CANCELLED


def test_a_job_failed_by_one_dataset_can_still_be_cancelled_while_others_wait_or_run():
    from ncap_lambda.contract import has_ended

    document = apply(apply(queued(A, B, "labA/inputs/c.csv"), A, {"status": FAILED, "reason": "exit 1"}),
                     "labA/inputs/c.csv", {"status": RUNNING})
    assert document["status"] == FAILED and not has_ended(document)
    new = with_cancel(document, REQUEST)
    assert new["datasets"][B]["status"] == CANCELLED and new["datasets"]["labA/inputs/c.csv"]["status"] == RUNNING
    assert cancel_requested(new)
    ended = apply(new, "labA/inputs/c.csv", {"status": CANCELLED})
    assert has_ended(ended) and with_cancel(ended, REQUEST) is None


def test_a_cancelled_stage_cancels_the_stages_it_never_entered():
    document = {**queued(A), "stages": {"pre": {"status": QUEUED}, "mid": {"status": QUEUED},
                                        "inf": {"status": QUEUED}}}
    document["datasets"][A]["stages"] = {"pre": {"status": RUNNING}}
    stopped = apply(document, A, {"status": CANCELLED}, stage="pre")
    assert {name: value["status"] for name, value in stopped["datasets"][A]["stages"].items()} == \
        dict.fromkeys(("pre", "mid", "inf"), CANCELLED)
    assert {name: value["status"] for name, value in stopped["stages"].items()} == \
        dict.fromkeys(("pre", "mid", "inf"), CANCELLED)
