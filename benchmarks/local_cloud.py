#!/usr/bin/env python3
"""The embedded local cloud as a whole: `ncap local up` as a real process, jobs submitted as a lab
user through boto3 (IAM enforced), a no-op analysis (a copy of pipelines/local-demo whose Command
is `true`), measured from outside.

1. start-up: from launching `ncap local up` until STATE_DIR/local.json exists. Target: < 10 s.
2. latency: submit.json uploaded -> status.json says SUCCESS, one job at a time (median, p95).
   Target: median < 2 s.
3. throughput: N jobs submitted at once, until the last is SUCCESS (jobs/s), with 1 and 4 workers.
   Target: 4 workers >= 3x the throughput of one.
Every figure is a whole-process one: emulator, router, submit handler and worker agents included.
Usage: python benchmarks/local_cloud.py [--jobs N] [--workers 1 4] [--command "sleep 1"]
(--command replaces the no-op analysis, e.g. to see how workers scale when the analysis dominates.)
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "local"))

from cloud_helpers import local_cloud, pipeline_copy, read_json, status_key  # noqa: E402

POLL = 0.02


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
        """job id -> when its SUCCESS was first seen; raises if one ends otherwise."""
        done, deadline = {}, time.monotonic() + timeout
        while len(done) < len(job_ids):
            if time.monotonic() > deadline:
                raise SystemExit(f"jobs not done within {timeout:.0f} s: {sorted(set(job_ids) - set(done))}")
            for job_id in job_ids:
                if job_id in done:
                    continue
                state = self.status(job_id)
                if state == "SUCCESS":
                    done[job_id] = time.monotonic()
                elif state in ("FAILED", "REJECTED"):
                    raise SystemExit(f"job {job_id} ended {state}")
            time.sleep(POLL)
        return done


def measure(pipeline: Path, root: Path, workers: int, jobs: int) -> dict:
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
        burst = [f"w{workers}-burst-{n:03d}" for n in range(jobs)]
        started = time.monotonic()
        for job_id in burst:
            lab.submit(job_id)
        finished = max(lab.wait(burst).values())
        stop_started = time.monotonic()
    return {"workers": workers, "startup": startup, "median": statistics.median(latencies),
            "p95": percentile(latencies, 0.95), "throughput": jobs / (finished - started),
            "burst_seconds": finished - started, "down_seconds": time.monotonic() - stop_started}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs per measurement (default 20)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4], help="worker counts (default 1 4)")
    parser.add_argument("--command", default="true", help="the analysis command (default `true`: a no-op)")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="ncap-bench-local-") as tmp:
        root = Path(tmp)
        pipeline = pipeline_copy("local-demo", root / "pipeline", analysis(args.command))
        print(f"local cloud: copy of pipelines/local-demo with Command `{args.command}`, {args.jobs} jobs per figure, "
              f"submitted as a lab user with IAM enforced", flush=True)
        for workers in args.workers:
            result = measure(pipeline, root, workers, args.jobs)
            results.append(result)
            print(f"  {workers} worker(s): start-up {result['startup']:.2f} s; "
                  f"latency median {result['median']:.3f} s, "
                  f"p95 {result['p95']:.3f} s; throughput {result['throughput']:.2f} jobs/s "
                  f"({args.jobs} jobs in {result['burst_seconds']:.2f} s); `ncap local down` took "
                  f"{result['down_seconds']:.1f} s", flush=True)
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
