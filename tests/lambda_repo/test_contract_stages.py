"""The job contract for a pipeline of stages: each stage of a dataset moves as a dataset does, the
dataset's status follows its stages, a stage that succeeds queues the next in the same change,
and the job sums each stage over its datasets."""
from types import SimpleNamespace

from ncap_lambda.contract import (
    FAILED,
    QUEUED,
    RUNNING,
    SUCCESS,
    apply,
    hand_off,
    is_final,
    message,
    new_document,
    stage_path,
    stage_status,
)

JOB = SimpleNamespace(submit_key="lab/inputs/rec.mp4", job_id="rec", affiliate="lab", configname=None,
                      submit_etag="e", bucket="b", status_key="lab/results/job_rec/logs/status.json")
STAGES = ("preprocess", "inference")
A, B = "lab/inputs/a.mp4", "lab/inputs/b.mp4"


def fresh(*datanames):
    paths = {name: f"lab/results/job_rec/process_results/{name.rsplit('/', 1)[-1]}/" for name in datanames}
    return new_document(JOB, QUEUED, None, paths, False, "t0", STAGES)


def step(document, dataname, stage, status, **fields):
    following = {"preprocess": "inference", "inference": None}[stage]
    return apply(document, dataname, {"status": status, **fields}, stage=stage, next_stage=following, updated="t1")


def test_a_new_job_has_every_stage_queued_for_every_dataset():
    document = fresh(A, B)
    assert document["stages"] == {name: {"status": QUEUED, "updated": None, "reason": None} for name in STAGES}
    assert all(entry["stages"] == {name: {"status": QUEUED} for name in STAGES}
               for entry in document["datasets"].values())
    assert "stages" not in new_document(JOB, QUEUED, None, {A: "x/"}, False, "t0")


def test_a_stage_that_succeeds_queues_the_next_and_the_last_ends_the_dataset():
    document = step(fresh(A), A, "preprocess", RUNNING)
    assert (document["status"], document["datasets"][A]["status"]) == (RUNNING, RUNNING)
    document = step(document, A, "preprocess", SUCCESS, outputs=2)
    assert stage_status(document, A, "preprocess") == SUCCESS and stage_status(document, A, "inference") == QUEUED
    assert document["datasets"][A]["status"] == RUNNING and document["status"] == RUNNING
    assert "outputs" not in document["datasets"][A], "a stage's own fields stay in its entry"
    document = step(step(document, A, "inference", RUNNING), A, "inference", SUCCESS, outputs=3)
    assert document["status"] == SUCCESS and document["datasets"][A]["outputs"] == 3
    assert document["stages"]["inference"] == {"status": SUCCESS, "updated": "t1", "reason": None}


def test_a_failure_at_a_stage_ends_the_dataset_failed_there():
    document = step(step(fresh(A), A, "preprocess", RUNNING), A, "preprocess", FAILED, reason="exit 2")
    assert (document["status"], document["reason"]) == (FAILED, "stage preprocess: exit 2")
    assert document["stages"]["preprocess"]["status"] == FAILED
    assert document["stages"]["inference"]["status"] == QUEUED
    assert step(document, A, "inference", RUNNING) is None, "a later stage never runs"
    assert is_final(document, A, "inference")


def test_a_finished_stage_refuses_changes_and_a_stage_never_goes_back():
    done = step(step(fresh(A), A, "preprocess", RUNNING), A, "preprocess", SUCCESS)
    assert step(done, A, "preprocess", RUNNING) is None and step(done, A, "preprocess", FAILED) is None
    assert is_final(done, A, "preprocess") and not is_final(done, A, "inference")
    running = step(done, A, "inference", RUNNING)
    assert step(running, A, "inference", QUEUED) is None


def test_the_job_sums_each_stage_over_its_datasets():
    document = step(fresh(A, B), A, "preprocess", RUNNING)
    assert document["stages"]["preprocess"]["status"] == RUNNING
    document = step(step(document, A, "preprocess", SUCCESS), B, "preprocess", RUNNING)
    assert document["stages"]["preprocess"]["status"] == RUNNING  # one of two done
    document = step(document, B, "preprocess", SUCCESS)
    assert document["stages"]["preprocess"]["status"] == SUCCESS
    assert document["stages"]["inference"]["status"] == QUEUED
    document = step(step(document, B, "inference", RUNNING), B, "inference", FAILED, reason="oom")
    assert document["stages"]["inference"]["status"] == FAILED
    assert document["stages"]["inference"]["reason"].endswith("oom")
    assert document["status"] == FAILED


def test_a_stage_stores_its_outputs_in_its_own_folder_of_the_job():
    assert stage_path("lab/results/job_rec/process_results/", "preprocess") == "lab/results/job_rec/stages/preprocess/"
    assert stage_path("lab/results/job_rec/process_results/a.mp4/", "pre") == "lab/results/job_rec/stages/pre/a.mp4/"


def test_the_hand_off_is_the_same_job_and_dataset_for_the_next_stage():
    first = message(JOB, A, [A], "lab/results/job_rec/process_results/", "preprocess")
    assert first["stage"] == "preprocess" and "stage" not in message(JOB, A, [A], "x/")
    later = hand_off(first, "inference", "lab/results/job_rec/stages/preprocess/")
    assert {k: v for k, v in later.items() if k not in ("stage", "input_prefix")} == \
        {k: v for k, v in first.items() if k != "stage"}
    assert (later["stage"], later["input_prefix"]) == ("inference", "lab/results/job_rec/stages/preprocess/")
