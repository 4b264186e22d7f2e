#!/usr/bin/env python3
"""Jobs per second through 1, 2 and 4 `ncap worker` processes, and the agent's overhead per job.

A moto server on 127.0.0.1 (the local cloud's emulator, ncap_iac.local.emulator, started here,
in this process, which otherwise only waits) holds a versioned bucket and a job queue with a
dead-letter queue. For each worker count, JOBS jobs are queued as the submit function queues them
(status.json then one message each, made with lambda_repo's own ncap_lambda.jobs / job_store),
then that many `ncap worker --command true` processes work the queue until it stays empty.
Figures come from whole processes:

- jobs/s = jobs / (end of the last job - start of the first job), from the workers' own JSON lines
  (worker start-up, mostly importing boto3, is reported apart); ratios against 1 worker.
- agent overhead per job (each job's own assumed session of its lab's job role and its
  credentials endpoint included) = wall time per job through 1 worker minus the time `true` takes to run
  through subprocess in this process (the baseline, measured in the same invocation); also the
  median per-job agent time the workers log (job seconds - command seconds).
Each worker count runs --repeat times (rounds interleaved); figures are medians. Target: overhead
under 50 ms per job. Usage: python benchmarks/worker.py [--jobs N] [--workers 1,2,4] [--repeat R]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lambda_repo"))
BUCKET, LAB, REGION = "bench-pipeline", "lab-a", "us-east-1"
ACCOUNT = "123456789012"  # moto's
TARGET_MS = 50.0
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
os.environ.pop("AWS_PROFILE", None)


def start_server() -> tuple[object, str]:
    """The local cloud's emulator (ncap_iac.emulator.server), in a thread of this process."""
    from ncap_iac.emulator.server import endpoint_of, threaded_server

    server = threaded_server()
    return server, endpoint_of(server)


def fresh_cloud(endpoint: str) -> tuple[object, str]:
    """Reset moto; a versioned bucket, a queue with a dead-letter queue. (s3 client, queue URL)"""
    import boto3

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).read()
    s3, sqs = boto3.client("s3", endpoint_url=endpoint), boto3.client("sqs", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    dlq = sqs.create_queue(QueueName="bench-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName="bench-jobs", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})})["QueueUrl"]
    make_job_role(boto3.client("iam", endpoint_url=endpoint))
    return (s3, sqs), queue


def make_job_role(iam) -> None:
    """The lab's job role the agent assumes for itself and for each job (IAM is not enforced
    here: the figures are the agent's own work, the AssumeRole calls included)."""
    from ncap_iac.lambda_repo.ncap_lambda.roles import job_role_name, job_role_path

    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]}
    iam.create_role(RoleName=job_role_name(BUCKET, LAB), Path=job_role_path(BUCKET),
                    AssumeRolePolicyDocument=json.dumps(trust))


def queue_jobs(clients, queue_url: str, count: int) -> None:
    """status.json and one message per job, as submit_start does (its own helpers)."""
    from ncap_lambda import job_store
    from ncap_lambda.contract import QUEUED
    from ncap_lambda.jobs import Job, dataset_units, status_document

    s3, sqs = clients
    s3.put_object(Bucket=BUCKET, Key=f"{LAB}/configs/c.json", Body=b"{}")
    for index in range(count):
        dataname = f"{LAB}/inputs/d{index}.csv"
        s3.put_object(Bucket=BUCKET, Key=dataname, Body=b"1,2,3\n")
        job = Job(BUCKET, LAB, "results", f"b{index}", f"{LAB}/submissions/b{index}_submit.json", "etag",
                  configname=f"{LAB}/configs/c.json")
        job = Job(**{**job.__dict__, "units": dataset_units(job.results_path, [dataname])})
        job_store.create_status(s3, job, status_document(job, QUEUED, None, True, job_store.now()))
        job_store.send_messages(sqs, queue_url, False, job)


def run_workers(endpoint: str, queue_url: str, count: int, folder: Path) -> list[Path]:
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
    argv = [sys.executable, "-m", "ncap_iac.cli", "worker", "--queue-url", queue_url, "--bucket", BUCKET,
            "--region", REGION, "--command", "true", "--idle-exit", "1.5", "--poll-seconds", "1",
            "--job-roles", f"arn:aws:iam::{ACCOUNT}:role/ncap/{BUCKET}/jobs/"]
    logs, processes = [], []
    for n in range(count):
        logs.append(folder / f"worker-{count}-{n}.log")
        with open(logs[-1], "wb") as log:
            processes.append(subprocess.Popen([*argv, "--workdir", str(folder / f"w{count}-{n}")],
                                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                              stderr=log, env=env))
    for process in processes:
        if process.wait(timeout=600) != 0:
            raise SystemExit(f"a worker failed; see {folder}")
    return logs


def read_lines(logs: list[Path]) -> list[dict]:
    return [json.loads(line) for log in logs for line in log.read_text().splitlines() if line.startswith("{")]


def figures(lines: list[dict], jobs: int) -> dict:
    done = [line for line in lines if line["decision"] == "job" and line["outcome"] == "success"]
    if len(done) != jobs:
        raise SystemExit(f"expected {jobs} successful jobs, the workers logged {len(done)}")
    first = min(line["time"] - line["seconds"] for line in done)
    last = max(line["time"] for line in done)
    agent = [line["seconds"] - line["command_seconds"] for line in done]
    return {"wall": last - first, "per_s": jobs / (last - first),
            "agent_ms": 1000 * statistics.median(agent), "command_ms": 1000 * statistics.median(
                line["command_seconds"] for line in done)}


def command_baseline(runs: int = 100) -> float:
    """Median seconds to run `true` through subprocess, as the agent does (no shell)."""
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["true"], stdin=subprocess.DEVNULL, start_new_session=True, check=True)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def measure(endpoint: str, counts: list[int], jobs: int, repeat: int, folder: Path) -> dict:
    """{worker count: [figures of each repetition]}; the counts interleaved in each round."""
    results = {count: [] for count in counts}
    for _ in range(repeat):
        for count in counts:
            clients, queue_url = fresh_cloud(endpoint)
            queue_jobs(clients, queue_url, jobs)
            results[count].append(figures(read_lines(run_workers(endpoint, queue_url, count, folder)), jobs))
    return results


def median_of(runs: list[dict], name: str) -> float:
    return statistics.median(run[name] for run in runs)


def report(results: dict, jobs: int, repeat: int, baseline: float) -> None:
    base = median_of(results[min(results)], "per_s")
    print(f"ncap worker, {jobs} jobs per run, command `true`, the local emulator (moto) on 127.0.0.1, "
          f"{os.cpu_count()} CPUs, medians of {repeat} runs")
    print("workers  seconds  jobs/s  vs 1 worker  agent ms/job (median, worker logs)")
    for count, runs in results.items():
        per_s = median_of(runs, "per_s")
        print(f"{count:>7}  {median_of(runs, 'wall'):7.2f}  {per_s:6.1f}  {per_s / base:10.2f}x  "
              f"{median_of(runs, 'agent_ms'):8.1f}")
    walls = sorted(run["wall"] for run in results[min(results)])
    overheads = [1000 * (wall / jobs - baseline) for wall in walls]
    print(f"baseline: `true` through subprocess here: {1000 * baseline:.1f} ms "
          f"(inside the agent: median {median_of(results[min(results)], 'command_ms'):.1f} ms)")
    median = statistics.median(overheads)
    print(f"agent overhead per job, 1 worker, whole process: {1000 * statistics.median(walls) / jobs:.1f} ms "
          f"per job - {1000 * baseline:.1f} ms command = {median:.1f} ms median, {overheads[0]:.1f} ms best "
          f"({'meets' if median < TARGET_MS else 'MISSES'} the {TARGET_MS:.0f} ms target)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end: {load:.2f} (other work on the machine slows every figure)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated (default 1,2,4)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each worker count (default 3)")
    args = parser.parse_args()
    counts = sorted({int(n) for n in args.workers.split(",")})
    server, endpoint = start_server()
    try:
        with tempfile.TemporaryDirectory(prefix="ncap-worker-bench-") as tmp:
            results = measure(endpoint, counts, args.jobs, args.repeat, Path(tmp))
    finally:
        server.stop()
    report(results, args.jobs, args.repeat, command_baseline())
    return 0


if __name__ == "__main__":
    sys.exit(main())
