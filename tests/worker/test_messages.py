"""The queue message contract: a valid message becomes a Task; each kind of bad message raises
BadMessage, with the status key only when writing it stays inside the message's own lab."""
import json

import pytest

from ncap_iac.worker.messages import UNNAMED_DATASET, BadMessage, parse

from .helpers import BUCKET, LAB, message

STATUS = f"{LAB}/results/job_j1/logs/status.json"


def test_a_valid_message_becomes_a_task():
    task = parse(json.dumps(message(configname=f"{LAB}/configs/c.yaml")), BUCKET)
    assert (task.affiliate, task.job_id, task.dataname, task.datanames) == (
        LAB, "j1", f"{LAB}/inputs/j1.csv", (f"{LAB}/inputs/j1.csv",))
    assert task.configname == f"{LAB}/configs/c.yaml" and task.status_key == STATUS
    assert task.logs_prefix == f"{LAB}/results/job_j1/logs/"


def test_a_fileset_message_keeps_every_dataname():
    names = [f"{LAB}/inputs/s.mp4", f"{LAB}/inputs/s.hpf"]
    assert parse(json.dumps(message(dataname=names[0], datanames=names)), BUCKET).datanames == tuple(names)


BAD = {
    "not-json": ("{not json", "not JSON", False),
    "not-an-object": ("[1, 2]", "not a JSON object", False),
    "missing-fields": (message(dataname=None), "missing or not a string: dataname", True),
    "missing-datanames": (message(datanames=None), "datanames must be a list", True),
    "other-bucket": (message(bucket="someone-elses"), "is not this worker's bucket", False),
    "unknown-version": (message(version=2), "unsupported message version", True),
    "bad-affiliate": (message(affiliate="../labB"), "is not a lab name", False),
    "bad-job-id": ({**message(), "job_id": "j 1; rm"}, "is not a job id", True),
    "dataname-other-lab": (message(dataname="labB/inputs/x.csv"), "outside the lab's folder", True),
    "datanames-other-lab": (message(datanames=["labB/inputs/x.csv"]), "datanames: ", True),
    "configname-other-lab": (message(configname="labB/configs/c.yaml"), "configname: ", True),
    "resultpath-other-lab": (message(resultpath="labB/results/job_j1/process_results/"), "resultpath: ", True),
    "resultpath-not-a-folder": (message(resultpath=f"{LAB}/results/x"), "final '/'", True),
    "status-key-other-lab": (message(status_key="labB/results/job_j1/logs/status.json"), "status_key: ", False),
    "status-key-not-status": (message(status_key=f"{LAB}/results/job_j1/logs/other.json"),
                              "must name a status.json", False),
    "dot-dot-dataname": (message(dataname=f"{LAB}/inputs/../../labB/x.csv"), "'..'", True),
    "dot-dot-status-key": (message(status_key=f"{LAB}/results/../../labB/logs/status.json"), "'..'", False),
    "absolute-dataname": (message(dataname="/etc/passwd"), "absolute path", True),
    "absolute-configname": (message(configname=f"/{LAB}/configs/c.yaml"), "absolute path", True),
    "control-character": (message(dataname=f"{LAB}/inputs/a\nb.csv"), "control character", True),
    "empty-folder-name": (message(dataname=f"{LAB}//x.csv"), "empty folder name", True),
}


@pytest.mark.parametrize("body, reason, status_usable", BAD.values(), ids=BAD.keys())
def test_bad_messages_are_refused(body, reason, status_usable):
    with pytest.raises(BadMessage) as caught:
        parse(body if isinstance(body, str) else json.dumps(body), BUCKET)
    assert reason in caught.value.reason
    assert caught.value.status_key == (STATUS if status_usable else None)


def test_a_bad_message_names_its_dataset_when_it_can():
    with pytest.raises(BadMessage) as caught:
        parse(json.dumps({**message(), "job_id": "bad id"}), BUCKET)
    assert caught.value.dataset == f"{LAB}/inputs/j1.csv"
    with pytest.raises(BadMessage) as caught:
        parse(json.dumps(message(dataname=7)), BUCKET)
    assert caught.value.dataset == UNNAMED_DATASET
