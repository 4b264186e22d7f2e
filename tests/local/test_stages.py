"""A pipeline of two stages on the local cloud (pipelines/cis-two-stage, its analyses slowed down
a little so that a worker can be killed in the middle of a job): the second stage reads the first's
outputs; a failure at the first stage ends the job FAILED there and the second never runs; the
workers of both stages killed mid-job leave every stage's outputs stored exactly once."""
import json
import os
import signal
import time
from pathlib import Path

import pytest

from cloud_helpers import (
    keys_under,
    local_cloud,
    ncap,
    pipeline_copy,
    read_json,
    status_key,
    wait_status,
)

pytestmark = pytest.mark.slow
LAB = "spine-clinic"
SLOW = 1.5  # seconds each analysis waits before it starts: the window in which workers are killed
STAGE_FILES = {"preprocess": ["frames.json", "imu_per_frame.csv"], "inference": ["poses.json", "summary.json"]}


def slowed(document):
    for stage in document["Stages"]:
        command = stage["Workers"]["Command"]
        stage["Workers"]["Command"] = f'sh -c "sleep {SLOW}; exec {command}"'


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    root = tmp_path_factory.mktemp("stages")
    pipeline = pipeline_copy("cis-two-stage", root / "pipeline", slowed)
    with local_cloud(pipeline, root / "state", workers=1) as running:
        yield running


def upload_recording(cloud, stem: str, hpf: bytes | None = None) -> str:
    """The two files of one recording, as the lab's user uploads them; returns the job id."""
    s3 = cloud.client("s3", cloud.users_of(LAB)[0])
    sample = cloud.pipeline_dir / "sample"
    s3.put_object(Bucket=cloud.bucket, Key=f"{LAB}/inputs/{stem}.mp4", Body=(sample / "walk_01.mp4").read_bytes())
    s3.put_object(Bucket=cloud.bucket, Key=f"{LAB}/inputs/{stem}.hpf",
                  Body=hpf if hpf is not None else (sample / "walk_01.hpf").read_bytes())
    return stem


def job_folder(job_id: str) -> str:
    return f"{LAB}/results/job_{job_id}/"


def stage_of(document: dict | None, stage: str) -> str | None:
    return ((document or {}).get("stages") or {}).get(stage, {}).get("status")


def test_the_second_stage_reads_the_first_stages_outputs(cloud):
    admin = cloud.client("s3")
    job = upload_recording(cloud, "walk_01")
    done = wait_status(admin, cloud.bucket, status_key(LAB, job), timeout=90)
    assert done["status"] == "SUCCESS", done
    assert {name: entry["status"] for name, entry in done["stages"].items()} == {
        "preprocess": "SUCCESS", "inference": "SUCCESS"}
    keys = set(keys_under(admin, cloud.bucket, job_folder(job)))
    for stage, files in (("preprocess", "stages/preprocess/"), ("inference", "process_results/")):
        assert {job_folder(job) + files + name for name in STAGE_FILES[stage]} <= keys
    frames = json.loads(admin.get_object(Bucket=cloud.bucket, Key=job_folder(job) + "stages/preprocess/frames.json")
                        ["Body"].read())
    summary = json.loads(admin.get_object(Bucket=cloud.bucket, Key=job_folder(job) + "process_results/summary.json")
                         ["Body"].read())
    assert summary["frames"] == summary["poses"] == len(frames) == 10
    logs = set(keys_under(admin, cloud.bucket, f"{LAB}/logs/job_{job}/"))
    assert logs == {f"{LAB}/logs/job_{job}/{stage}-job_log.txt" for stage in STAGE_FILES}
    shown = ncap("local", "status", str(cloud.pipeline_dir), "--state-dir", str(cloud.state_dir))
    assert shown.returncode == 0, shown.stderr
    lines = [line.split() for line in shown.stdout.splitlines() if line.strip().startswith("stage ")]
    assert [line[:3] for line in lines][:2] == [["stage", "preprocess", "SUCCESS"], ["stage", "inference", "SUCCESS"]]


def test_a_failure_at_the_first_stage_ends_the_job_there(cloud):
    admin = cloud.client("s3")
    job = upload_recording(cloud, "empty_01", hpf=b"t,ax,ay,az\n")  # no IMU samples: preprocess exits 2
    done = wait_status(admin, cloud.bucket, status_key(LAB, job), timeout=90)
    assert done["status"] == "FAILED"
    assert done["reason"].startswith("stage preprocess: the command exited with code 2"), done["reason"]
    assert stage_of(done, "preprocess") == "FAILED" and stage_of(done, "inference") == "QUEUED"
    keys = keys_under(admin, cloud.bucket, job_folder(job))
    assert not [k for k in keys if "/process_results/" in k or "/stages/" in k], keys
    inference_logs = "".join(p.read_text(errors="replace") for p in cloud.state_dir.glob("worker-inference-*.log"))
    assert f'"job_id": "{job}"' not in inference_logs, "stage inference never saw the job"


def agent_of(cloud, stage: str) -> int:
    """The pid of the running agent of `stage` (from pids.json, which `up` keeps current)."""
    pids = json.loads((cloud.state_dir / "pids.json").read_text())["workers"]
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--stage" in argv and argv[argv.index(b"--stage") + 1] == stage.encode():
            return pid
    raise AssertionError(f"no running agent of stage {stage} in {pids}")


def kill_when_running(cloud, admin, jobs: list[str], stage: str, timeout: float = 60.0) -> str:
    """SIGKILL the agent of `stage` as soon as one of `jobs` runs there; returns that job."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in jobs:
            if stage_of(read_json(admin, cloud.bucket, status_key(LAB, job)), stage) == "RUNNING":
                os.kill(agent_of(cloud, stage), signal.SIGKILL)
                return job
        time.sleep(0.05)
    raise AssertionError(f"no job ran at stage {stage} within {timeout:.0f} s")


def test_workers_of_both_stages_killed_mid_job_leave_each_output_stored_once(cloud):
    admin = cloud.client("s3")
    jobs = [upload_recording(cloud, f"killed_{n}") for n in range(3)]
    first = kill_when_running(cloud, admin, jobs, "preprocess")
    second = kill_when_running(cloud, admin, jobs, "inference")
    finals = {job: wait_status(admin, cloud.bucket, status_key(LAB, job), timeout=150) for job in jobs}
    assert {job: doc["status"] for job, doc in finals.items()} == dict.fromkeys(jobs, "SUCCESS")
    for job in jobs:
        versions = admin.list_object_versions(Bucket=cloud.bucket, Prefix=job_folder(job)).get("Versions", [])
        stored = [v["Key"].removeprefix(job_folder(job)) for v in versions
                  if "/logs/" not in "/" + v["Key"].removeprefix(job_folder(job))]
        expected = [f"stages/preprocess/{name}" for name in STAGE_FILES["preprocess"]] + \
            [f"process_results/{name}" for name in STAGE_FILES["inference"]]
        assert sorted(stored) == sorted(expected), (job, stored)  # each once: one version, no stray file
    for job in jobs:  # each hand-off recorded: a redelivery of the first stage's message sends no second one
        assert finals[job]["datasets"][f"{LAB}/inputs/{job}.mp4"]["stages"]["inference"].get("handed_off"), job
    killed = "".join(p.read_text(errors="replace") for p in cloud.state_dir.glob("worker-*.log"))
    assert killed.count("was killed by signal 9") >= 2
    attempts = [finals[first]["datasets"][f"{LAB}/inputs/{first}.mp4"]["stages"]["preprocess"]["attempt"],
                finals[second]["datasets"][f"{LAB}/inputs/{second}.mp4"]["stages"]["inference"]["attempt"]]
    assert all(attempt >= 2 for attempt in attempts), attempts  # the killed attempts ran again
