"""Fault test: several `ncap worker` processes on the moto server work 200 jobs queued by the real
submit handler while workers are SIGKILLed at random moments and replacements start. At the end
every job is SUCCESS, every result set is complete and each result object has exactly one
version, the dead-letter queue is empty and no message is left (visible or in flight).

The jobs are submitted while the workers already run; a worker is killed every 0.5-3 s (at least
KILLS times, and for as long as jobs are being submitted), so kills land in every step of a job:
downloads, the command, uploads, status writes, between SUCCESS and the delete."""
import json
import random
import signal
import threading
import time

import pytest

from .helpers import LAB, Cloud, WorkerProcess, results_prefix, wait_until

JOBS, WORKERS, KILLS = 200, 4, 12
# Two result files derived from the dataname, after a short sleep.
COMMAND = ("python3 -S -c 'import os, pathlib, time; time.sleep(0.1); e = os.environ; "
           "o = pathlib.Path(e[\"NCAP_OUTPUT_DIR\"]); (o / \"sub\").mkdir(); "
           "(o / \"name.txt\").write_text(e[\"NCAP_DATANAME\"]); "
           "(o / \"sub\" / \"size.txt\").write_text(str(os.path.getsize(e[\"NCAP_INPUT_PATH\"])))'")


def expected_results(job_id):
    dataname = f"{LAB}/inputs/{job_id}.csv"
    return {results_prefix(job_id) + "name.txt": dataname.encode(),
            results_prefix(job_id) + "sub/size.txt": str(len(f"data of {dataname}\n")).encode()}


class Crew:
    """The worker processes, with random SIGKILLs and replacements."""

    def __init__(self, cloud, tmp_path):
        self.cloud, self.tmp_path, self.started, self.kills = cloud, tmp_path, 0, 0
        self.all: list[WorkerProcess] = []
        self.live = [self.start() for _ in range(WORKERS)]

    def start(self):
        self.started += 1
        name = f"w{self.started}"
        argv = self.cloud.worker_args(COMMAND, self.tmp_path / name, heartbeat=4, poll_seconds=1,
                                      grace=10)
        worker = WorkerProcess(argv, self.tmp_path / f"{name}.log")
        self.all.append(worker)
        return worker

    def kill_one(self, rng):
        victim = rng.choice(self.live)
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        self.live.remove(victim)
        self.live.append(self.start())
        self.kills += 1

    def stop(self):
        for worker in self.live:
            worker.wait_for("started")
            worker.process.send_signal(signal.SIGTERM)
        codes = [worker.wait(timeout=30) for worker in self.live]
        for worker in self.all:
            worker.stop()
        return codes

    def outcomes(self):
        lines = [line for worker in self.all for line in worker.decisions() if line["decision"] == "job"]
        counts = {}
        for line in lines:
            outcome = line["outcome"] + ("-rerun" if line.get("attempt", 1) > 1 else "")
            counts[outcome] = counts.get(outcome, 0) + 1
            if line.get("skipped"):
                counts["skipped-uploads"] = counts.get("skipped-uploads", 0) + line["skipped"]
        return counts


def succeeded(cloud, job_ids):
    return sum(cloud.status(job_id)["status"] == "SUCCESS" for job_id in job_ids)


@pytest.mark.slow
def test_no_job_is_lost_or_written_twice_when_workers_are_killed(moto_server, monkeypatch, tmp_path):
    cloud = Cloud(monkeypatch, max_receives=10)
    job_ids = [f"f{n:03d}" for n in range(JOBS)]
    rng = random.Random(20261122)
    crew = Crew(cloud, tmp_path)
    submitter = threading.Thread(target=lambda: [cloud.submit(job_id) for job_id in job_ids])
    try:
        t0 = time.monotonic()
        submitter.start()
        while submitter.is_alive() or crew.kills < KILLS:
            time.sleep(rng.uniform(0.5, 3.0))
            crew.kill_one(rng)
        submitter.join()
        # A message is deleted only after its job is SUCCESS: an empty queue means all are done.
        wait_until(lambda: cloud.counts() == (0, 0), timeout=90, interval=0.5, what="an empty queue")
        seconds = time.monotonic() - t0
    finally:
        codes = crew.stop()
    assert codes == [0] * WORKERS
    assert cloud.counts() == (0, 0) and cloud.counts(cloud.dlq) == (0, 0)
    assert [cloud.status(job_id)["status"] for job_id in job_ids] == ["SUCCESS"] * JOBS
    versions = cloud.versions(f"{LAB}/results/")
    results = {key: count for key, count in versions.items() if "/process_results/" in key}
    assert len(results) == 2 * JOBS and set(results.values()) == {1}, "each result written once"
    for job_id in job_ids:
        for key, content in expected_results(job_id).items():
            assert cloud.get(key) == content
    print(json.dumps({"seconds": round(seconds, 1), "kills": crew.kills, "workers": crew.started,
                      "outcomes": crew.outcomes()}))  # shown with pytest -s
