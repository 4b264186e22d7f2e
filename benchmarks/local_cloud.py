#!/usr/bin/env python3
"""The embedded local cloud as a whole: `ncap local up` as a real process, jobs submitted as a lab
user through boto3 (IAM enforced), a no-op analysis (a copy of pipelines/local-demo whose Command
is `true`), measured from outside.

1. start-up: from launching `ncap local up` until STATE_DIR/local.json exists. Target: < 10 s.
2. latency: submit.json uploaded -> status.json says SUCCESS, one job at a time (median, p95).
   Target: median < 2 s.
3. throughput: --burst jobs submitted at once, until the last is SUCCESS (jobs/s), with 1 and 4
   workers. Target: 4 workers >= 3x the throughput of one.
4. where the CPU went during the burst, per job and per part (emulator, `ncap local up` with the
   router and submit handler, workers, this lab client; from /proc), and the throughput that CPU
   allows at most: the cores over the total, and one core over the share of the emulator or of
   `ncap local up` (each is one Python process). A throughput near that ceiling is bound by CPU,
   not by the number of workers. The emulator's share includes answering this benchmark's status
   reads (about 50 a second).
Every figure is a whole-process one: emulator, router, submit handler and worker agents included.
The jobs' status is watched with about one GetObject per 20 ms, so that watching costs little.
Usage: python benchmarks/local_cloud.py [--jobs N] [--burst N] [--workers 1 4] [--command "sleep 1"]
(--command replaces the no-op analysis, e.g. to see how workers scale when the analysis dominates.)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "local"))

from cloud_helpers import descendants, local_cloud, pipeline_copy, read_json, status_key  # noqa: E402

POLL = 0.02
TICK = os.sysconf("SC_CLK_TCK")
PARTS = ("emulator", "router and submit handler", "workers", "lab client (this benchmark)")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # its own user and system time, and that of its children it has waited for (the analyses)
    return sum(int(fields[n]) for n in (11, 12, 13, 14)) / TICK


def part_of(cloud, pid: int) -> str:
    if pid == cloud.process.pid:
        return PARTS[1]  # `ncap local up` routes the S3 events and runs the submit handler
    if pid == cloud.pids.get("moto"):
        return PARTS[0]
    return PARTS[2]


def cpu_by_part(cloud) -> dict[str, float]:
    """CPU seconds used so far by each part of the running cloud, and by this process."""
    used = dict.fromkeys(PARTS, 0.0)
    for pid in {cloud.process.pid} | descendants(cloud.process.pid):
        used[part_of(cloud, pid)] += cpu_seconds(pid)
    used[PARTS[3]] = time.process_time()
    return used


def analysis(command: str):
    def change(document):
        document["PipelineName"] = "ncap-bench"
        document["Workers"]["Command"] = command
    return change


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


class Lab:
    """A lab user submitting jobs on the running cloud."""

    def __init__(self, cloud):
        self.user = sorted(cloud.info["users"])[0]
        self.lab = cloud.affiliate_of(self.user)
        self.s3, self.bucket = cloud.client("s3", self.user), cloud.bucket
        self.data = f"{self.lab}/inputs/bench.csv"
        self.config = f"{self.lab}/configs/bench.json"
        self.s3.put_object(Bucket=self.bucket, Key=self.data, Body=b"t,x\n0,1\n")
        self.s3.put_object(Bucket=self.bucket, Key=self.config, Body=b"{}")

    def submit(self, job_id: str) -> float:
        body = json.dumps({"dataname": self.data, "configname": self.config, "timestamp": job_id})
        started = time.monotonic()
        self.s3.put_object(Bucket=self.bucket, Key=f"{self.lab}/submissions/{job_id}_submit.json", Body=body.encode())
        return started

    def status(self, job_id: str) -> str | None:
        document = read_json(self.s3, self.bucket, status_key(self.lab, job_id))
        return document.get("status") if document else None

    def wait(self, job_ids: list[str], timeout: float = 300.0) -> dict[str, float]:
        """job id -> when its SUCCESS was first seen; raises if one ends otherwise. Jobs are checked
        in the order given and each round stops at the first one not done yet, so that watching
        costs the emulator about one request per round however many jobs are pending."""
        done, pending, deadline = {}, list(job_ids), time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise SystemExit(f"jobs not done within {timeout:.0f} s: {pending}")
            while pending:
                state = self.status(pending[0])
                if state in ("FAILED", "REJECTED"):
                    raise SystemExit(f"job {pending[0]} ended {state}")
                if state != "SUCCESS":
                    break
                done[pending.pop(0)] = time.monotonic()
            if pending:
                time.sleep(POLL)
        return done


def measure(pipeline: Path, root: Path, workers: int, jobs: int, burst_jobs: int) -> dict:
    state = root / f"state-{workers}"
    with local_cloud(pipeline, state, workers=workers) as cloud:
        startup = cloud.ready_seconds
        lab = Lab(cloud)
        lab.submit(f"w{workers}-warm")  # the first job pays for imports and connections
        lab.wait([f"w{workers}-warm"])
        latencies = []
        for n in range(jobs):
            job_id = f"w{workers}-lat-{n:03d}"
            started = lab.submit(job_id)
            latencies.append(lab.wait([job_id])[job_id] - started)
        burst = [f"w{workers}-burst-{n:03d}" for n in range(burst_jobs)]
        before, started = cpu_by_part(cloud), time.monotonic()
        for job_id in burst:
            lab.submit(job_id)
        finished = max(lab.wait(burst).values())
        after = cpu_by_part(cloud)
        stop_started = time.monotonic()
    return {"workers": workers, "startup": startup, "median": statistics.median(latencies),
            "p95": percentile(latencies, 0.95), "throughput": burst_jobs / (finished - started), "burst": burst_jobs,
            "burst_seconds": finished - started, "down_seconds": time.monotonic() - stop_started,
            "cpu_ms": {part: 1000 * (after[part] - before[part]) / burst_jobs for part in PARTS}}


def report_cpu(result: dict) -> None:
    """Where the CPU went per job during the burst, and the throughput that allows at most: the
    machine's cores over all of it, and one core over the share of each one-process part (the
    emulator; `ncap local up` with the router and submit handler)."""
    cpu = result["cpu_ms"]
    total = sum(cpu.values())
    cores = os.cpu_count() or 1
    ceiling = min(1000 * cores / total, 1000 / cpu[PARTS[0]], 1000 / cpu[PARTS[1]])
    shares = ", ".join(f"{part} {ms:.0f}" for part, ms in cpu.items())
    print(f"    CPU per job: {shares}; total {total:.0f} ms -> at most {ceiling:.1f} jobs/s on {cores} cores "
          f"(reached {100 * result['throughput'] / ceiling:.0f}%)", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs timed one at a time for latency (default 20)")
    parser.add_argument("--burst", type=int, default=60, help="jobs submitted at once for throughput (default 60)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4], help="worker counts (default 1 4)")
    parser.add_argument("--command", default="true", help="the analysis command (default `true`: a no-op)")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="ncap-bench-local-") as tmp:
        root = Path(tmp)
        pipeline = pipeline_copy("local-demo", root / "pipeline", analysis(args.command))
        print(f"local cloud: copy of pipelines/local-demo with Command `{args.command}`, latency over {args.jobs} jobs "
              f"one at a time, throughput over {args.burst} jobs submitted at once, "
              f"submitted as a lab user with IAM enforced", flush=True)
        for workers in args.workers:
            result = measure(pipeline, root, workers, args.jobs, args.burst)
            results.append(result)
            print(f"  {workers} worker(s): start-up {result['startup']:.2f} s; "
                  f"latency median {result['median']:.3f} s, "
                  f"p95 {result['p95']:.3f} s; throughput {result['throughput']:.2f} jobs/s "
                  f"({args.burst} jobs in {result['burst_seconds']:.2f} s); `ncap local down` took "
                  f"{result['down_seconds']:.1f} s", flush=True)
            report_cpu(result)
    print()
    startup = max(r["startup"] for r in results)
    median = max(r["median"] for r in results)
    print(f"start-up (ncap local up until local.json exists): {startup:.2f} s (worst)   target < 10 s   "
          f"{'MET' if startup < 10 else 'MISSED'}")
    print(f"submission-to-SUCCESS latency: median {median:.3f} s (worst)   target < 2 s   "
          f"{'MET' if median < 2 else 'MISSED'}")
    by_count = {r["workers"]: r for r in results}
    if 1 in by_count and 4 in by_count:
        ratio = by_count[4]["throughput"] / by_count[1]["throughput"]
        print(f"throughput 4 workers vs 1: {by_count[4]['throughput']:.2f} / {by_count[1]['throughput']:.2f} jobs/s "
              f"= {ratio:.2f}x   target >= 3x   {'MET' if ratio >= 3 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
