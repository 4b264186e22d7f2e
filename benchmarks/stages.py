#!/usr/bin/env python3
"""Hand-off latency between two stages on the embedded local cloud: `ncap local up` of a copy of
pipelines/cis-two-stage (a fileset, two stages, FIFO queues, IAM enforced) with one worker per
stage, recordings uploaded as a lab user one at a time, each waited for until SUCCESS.

Measured from the worker agents' own logs (one JSON line per decision, with the time to the
millisecond; both agents run on this machine, so their clocks are one):
- hand-off: stage preprocess's `job` line with outcome success (written once SUCCESS is stored)
  -> stage inference's `running` line for the same job (written once RUNNING is stored): the
  preprocessing worker queues the dataset for inference, the inference worker receives it, reads
  the status and writes RUNNING. Target: median <= 1 s.
- baseline, in the same runs: the upload of the recording's last file (this client) -> stage
  preprocess's `running` line: the S3 event, the submit function, the queue and a waiting worker.
The ratio is hand-off over baseline.
Usage: python benchmarks/stages.py [--jobs N]
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

from cloud_helpers import local_cloud, pipeline_copy, status_key, wait_status  # noqa: E402

LAB = "spine-clinic"
TARGET_SECONDS = 1.0


def log_times(state: Path, stage: str, decision: str, job_id: str, outcome: str | None = None) -> list[float]:
    """The times of `decision` lines of `stage`'s agents about `job_id` (and `outcome`)."""
    found = []
    for log in state.glob(f"worker-{stage}-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            entry = json.loads(line)
            if entry.get("decision") == decision and entry.get("job_id") == job_id and \
                    (outcome is None or entry.get("outcome") == outcome):
                found.append(float(entry["time"]))
    return found


def wait_times(state: Path, *query, timeout: float = 10.0) -> list[float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = log_times(state, *query)
        if found:
            return found
        time.sleep(0.05)
    raise SystemExit(f"no log line {query} within {timeout:.0f} s")


def run_job(cloud, n: int) -> tuple[float, float]:
    """(baseline, hand-off) seconds of one recording."""
    s3 = cloud.client("s3", cloud.users_of(LAB)[0])
    admin = cloud.client("s3")
    stem, sample = f"bench_{n:03d}", cloud.pipeline_dir / "sample"
    for suffix in (".mp4", ".hpf"):
        s3.put_object(Bucket=cloud.bucket, Key=f"{LAB}/inputs/{stem}{suffix}",
                      Body=(sample / f"walk_01{suffix}").read_bytes())
    uploaded = time.time()
    done = wait_status(admin, cloud.bucket, status_key(LAB, stem), timeout=60)
    if done["status"] != "SUCCESS":
        raise SystemExit(f"job {stem} ended {done['status']}: {done.get('reason')}")
    state = cloud.state_dir
    first_running = min(wait_times(state, "preprocess", "running", stem))
    succeeded = min(wait_times(state, "preprocess", "job", stem, "success"))
    second_running = min(wait_times(state, "inference", "running", stem))
    return first_running - uploaded, second_running - succeeded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ncap-bench-stages-") as tmp:
        pipeline = pipeline_copy("cis-two-stage", Path(tmp) / "pipeline")
        started = time.monotonic()
        with local_cloud(pipeline, Path(tmp) / "state", workers=1) as cloud:
            print(f"local cloud of cis-two-stage ready in {time.monotonic() - started:.1f} s "
                  "(1 worker per stage)", flush=True)
            run_job(cloud, 0)  # warm-up: first imports and clients of every process
            pairs = [run_job(cloud, n + 1) for n in range(args.jobs)]
    baseline, handoff = [p[0] for p in pairs], [p[1] for p in pairs]

    def figures(values: list[float]) -> str:
        cut = statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]
        return (f"median {statistics.median(values):.3f} s  p95 {cut:.3f} s  min {min(values):.3f} s  "
                f"max {max(values):.3f} s")

    print(f"\n{args.jobs} recordings, one at a time")
    print(f"baseline: upload -> stage preprocess RUNNING        {figures(baseline)}")
    print(f"hand-off: preprocess SUCCESS -> inference RUNNING  {figures(handoff)}")
    ratio = statistics.median(handoff) / statistics.median(baseline)
    verdict = "meets" if statistics.median(handoff) <= TARGET_SECONDS else "MISSES"
    print(f"hand-off / baseline (medians): {ratio:.2f}x; hand-off median {statistics.median(handoff):.3f} s "
          f"{verdict} the {TARGET_SECONDS:g} s target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
