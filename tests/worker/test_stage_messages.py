"""Messages and options of a stage's agent: a message is for one stage, and a later stage's
inputs are a stage folder of the message's own job; a stage that is not the last stores its
outputs in its own folder; --next-stage and --next-queue-url go together; a redelivery is handed
on only while the next stage was not queued yet."""
import json
from dataclasses import replace
from pathlib import Path

import pytest

from ncap_iac.errors import NcapError
from ncap_iac.lambda_repo.ncap_lambda.contract import QUEUED, RUNNING, SUCCESS, apply, new_document
from ncap_iac.worker import handoff
from ncap_iac.worker.messages import BadMessage, parse
from ncap_iac.worker.settings import Settings, check
from ncap_iac.worker.workspace import Workspace, environment

from .helpers import BUCKET, LAB, message

JOB = f"{LAB}/results/job_j1/"


def staged(stage, **fields):
    return json.dumps({**message(), "stage": stage, **fields})


def test_a_message_for_the_agents_stage_becomes_a_task_of_that_stage():
    task = parse(staged("inference", input_prefix=JOB + "stages/preprocess/"), BUCKET, "inference")
    assert (task.stage, task.input_prefix) == ("inference", JOB + "stages/preprocess/")
    assert task.output_path == task.resultpath, "the last stage writes to process_results/"
    middle = replace(parse(staged("preprocess"), BUCKET, "preprocess"), next_stage="inference")
    assert middle.output_path == JOB + "stages/preprocess/"


@pytest.mark.parametrize("body, stage, said", [
    pytest.param(staged("preprocess"), "inference", "is for stage 'preprocess'", id="other-stage"),
    pytest.param(json.dumps(message()), "inference", "is for stage None", id="no-stage"),
    pytest.param(staged("inference"), None, "this worker runs stage None", id="one-stage-agent"),
    pytest.param(staged("inference", input_prefix=f"{LAB}/results/job_j2/stages/preprocess/"), "inference",
                 "is not a stage folder of job 'j1'", id="another-jobs-folder"),
    pytest.param(staged("inference", input_prefix="labB/results/job_j1/stages/preprocess/"), "inference",
                 "outside the lab's folder", id="another-lab"),
    pytest.param(staged("inference", input_prefix=JOB + "stages/../../x/"), "inference", "'..'", id="dot-dot"),
])
def test_a_message_for_another_stage_or_with_inputs_outside_its_job_never_runs(body, stage, said):
    with pytest.raises(BadMessage) as caught:
        parse(body, BUCKET, stage)
    assert said in caught.value.reason
    assert caught.value.status_key == JOB + "logs/status.json"


def settings(**fields) -> Settings:
    base = {"queue_url": "https://sqs.us-east-1.amazonaws.com/1/q", "bucket": BUCKET, "region": "us-east-1",
            "command": "run.sh", "job_roles": "arn:aws:iam::123456789012:role/ncap/p/jobs/"}
    return Settings(**{**base, **fields})


@pytest.mark.parametrize("fields, said", [
    ({"stage": "pre", "next_stage": "inf"}, "--next-stage and --next-queue-url go together"),
    ({"next_stage": "inf", "next_queue_url": "https://q"}, "need --stage"),
    ({"stage": "pre_1"}, "--stage: 'pre_1' is not a stage name"),
])
def test_stage_options_that_cannot_work_are_one_clear_error(fields, said):
    with pytest.raises(NcapError, match=said):
        check(settings(**fields))
    check(settings(stage="pre", next_stage="inf", next_queue_url="https://q", next_group="g"))


def test_a_later_stage_finds_its_inputs_folder_in_ncap_input_path(tmp_path):
    task = parse(staged("inference", input_prefix=JOB + "stages/preprocess/"), BUCKET, "inference")
    space = Workspace(root=tmp_path, log=tmp_path / "log")
    env = environment(task, space, "http://127.0.0.1:1/x", "token", "us-east-1", base={})
    assert Path(env["NCAP_INPUT_PATH"]) == space.input_dir and env["NCAP_STAGE"] == "inference"


def test_a_redelivery_is_handed_on_only_while_the_next_stage_was_not_queued_yet():
    task = replace(parse(staged("preprocess"), BUCKET, "preprocess"), next_stage="inference")
    job = type("Job", (), {"submit_key": "k", "job_id": "j1", "affiliate": LAB, "configname": None,
                           "submit_etag": "e"})
    document = new_document(job, QUEUED, None, {task.dataname: task.resultpath}, True, "t0",
                            ("preprocess", "inference"))
    assert not handoff.pending(task, document)
    done = apply(document, task.dataname, {"status": SUCCESS}, stage="preprocess", next_stage="inference")
    assert handoff.pending(task, done)
    sent = apply(done, task.dataname, {"status": QUEUED, handoff.HANDED_OFF: "m-1"}, stage="inference")
    assert not handoff.pending(task, sent), "a hand-off once recorded is not sent again"
    assert sent["datasets"][task.dataname]["stages"]["preprocess"]["status"] == SUCCESS
    begun = apply(done, task.dataname, {"status": RUNNING}, stage="inference", next_stage=None)
    assert not handoff.pending(task, begun)


def test_a_hand_off_is_recorded_even_when_the_next_stages_worker_took_it_first(moto_server):
    """The next stage's worker may set RUNNING between the send and the record: the record then
    goes beside its RUNNING, keeping what that worker wrote."""
    import boto3

    from ncap_iac.worker import status_store

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    task = replace(parse(staged("preprocess"), BUCKET, "preprocess"), next_stage="inference")
    job = type("Job", (), {"submit_key": "k", "job_id": "j1", "affiliate": LAB, "configname": None,
                           "submit_etag": "e"})
    document = new_document(job, QUEUED, None, {task.dataname: task.resultpath}, True, "t0",
                            ("preprocess", "inference"))
    done = apply(document, task.dataname, {"status": SUCCESS}, stage="preprocess", next_stage="inference")
    taken = apply(done, task.dataname, {"status": RUNNING, "worker": "i-next"}, stage="inference")
    s3.put_object(Bucket=BUCKET, Key=task.status_key, Body=json.dumps(taken).encode())
    handoff.record(s3, task, "m-1", None)
    entry = status_store.read(s3, task).document["datasets"][task.dataname]["stages"]["inference"]
    assert (entry["status"], entry["worker"], entry[handoff.HANDED_OFF]) == (RUNNING, "i-next", "m-1")
