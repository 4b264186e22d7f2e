"""status.json read-modify-write against the moto server: a write that lost a race to another
writer reads again and keeps the other writer's change; a missing status is created; a final
dataset is not touched."""
import json

import pytest

from ncap_iac.worker.messages import parse
from ncap_iac.worker.status_store import StatusConflict, read, update

from .helpers import BUCKET, LAB, cloud, decisions, message  # noqa: F401


class Meddler:
    """An S3 client through which another writer changes status.json right before each of the
    next `times` writes to it."""

    def __init__(self, s3, times):
        self.s3, self.times, self.meddled = s3, times, 0

    def __getattr__(self, name):
        return getattr(self.s3, name)

    def put_object(self, **request):
        if self.times and request["Key"].endswith("status.json"):
            self.times -= 1
            self.meddled += 1
            document = json.loads(self.s3.get_object(Bucket=BUCKET, Key=request["Key"])["Body"].read())
            document["submit_etag"] = f"changed-{self.meddled}"
            self.s3.put_object(Bucket=BUCKET, Key=request["Key"], Body=json.dumps(document).encode())
        return self.s3.put_object(**request)


def queued_task(cloud):
    cloud.submit("j1")
    return parse(json.dumps(message()), BUCKET)


def test_a_lost_race_reads_again_and_keeps_the_other_writers_change(cloud):
    task = queued_task(cloud)
    meddler = Meddler(cloud.s3, times=2)
    written = update(meddler, task, {"status": "RUNNING", "attempt": 1})
    assert written.changed and meddler.meddled == 2
    stored = cloud.status("j1")
    assert stored["submit_etag"] == "changed-2" and stored["datasets"][task.dataname]["status"] == "RUNNING"
    assert stored == written.snapshot.document


def test_a_stale_snapshot_costs_a_read_not_a_lost_update(cloud):
    task = queued_task(cloud)
    mine = update(cloud.s3, task, {"status": "RUNNING"}).snapshot
    cloud.s3.put_object(Bucket=BUCKET, Key=task.status_key,
                        Body=json.dumps({**cloud.status("j1"), "queued": "someone else"}).encode())
    written = update(cloud.s3, task, {"status": "SUCCESS"}, known=mine)
    assert written.changed and cloud.status("j1")["queued"] == "someone else"
    assert cloud.status("j1")["status"] == "SUCCESS"


def test_a_late_running_never_overwrites_success(cloud):
    task = queued_task(cloud)
    update(cloud.s3, task, {"status": "SUCCESS"})
    written = update(cloud.s3, task, {"status": "RUNNING"})
    assert not written.changed and cloud.status("j1")["status"] == "SUCCESS"


def test_a_missing_status_is_created(cloud, decisions):
    task = parse(json.dumps(message(job_id="j9", submit_key=f"{LAB}/submissions/x_submit.json")), BUCKET)
    written = update(cloud.s3, task, {"status": "RUNNING"})
    stored = cloud.status("j9")
    assert written.changed and stored["status"] == "RUNNING" and stored["job_id"] == "j9"
    assert stored["datasets"][task.dataname]["resultpath"] == task.resultpath
    assert decisions.named("status-missing")


def test_a_status_that_never_stops_changing_gives_up(cloud, monkeypatch):
    task = queued_task(cloud)
    monkeypatch.setattr("ncap_iac.worker.status_store.time.sleep", lambda seconds: None)
    with pytest.raises(StatusConflict):
        update(Meddler(cloud.s3, times=100), task, {"status": "RUNNING"})
    assert read(cloud.s3, task).document["datasets"][task.dataname]["status"] == "QUEUED"
