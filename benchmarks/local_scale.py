#!/usr/bin/env python3
"""`ncap local up` start-up at NCAP's scale: a copy of pipelines/local-demo with 60 labs of 3 users
in nested stacks (STAGE websubstack), from launching the process until STATE_DIR/local.json
exists, against the 2-lab local-demo in the same invocation. Target: at most 30 s for 60 labs.
Usage: python benchmarks/local_scale.py [--runs N] [--labs N] [--users N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "local"))

from cloud_helpers import local_cloud, pipeline_copy  # noqa: E402

TARGET_SECONDS = 30.0


def labs(count: int, users: int):
    def change(document):
        document["PipelineName"] = "ncap-scale"
        document["STAGE"] = "websubstack"
        document["UXData"]["Affiliates"] = [{"AffiliateName": f"lab{n:03d}",
                                             "UserNames": [f"lab{n:03d}-u{u}" for u in range(users)]}
                                            for n in range(count)]
    return change


def start_ups(pipeline: Path, root: Path, runs: int) -> list[float]:
    seconds = []
    for run in range(runs):
        with local_cloud(pipeline, root / f"state-{pipeline.name}-{run}") as cloud:
            seconds.append(cloud.ready_seconds)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--labs", type=int, default=60)
    parser.add_argument("--users", type=int, default=3, help="users per lab (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        demo = pipeline_copy("local-demo", root / "demo")
        big = pipeline_copy("local-demo", root / "scale", labs(args.labs, args.users))
        results = {"local-demo (2 labs, one template)": start_ups(demo, root, args.runs),
                   f"{args.labs} labs x {args.users} users, nested": start_ups(big, root, args.runs)}
    print(f"\n{'pipeline':36} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, seconds in results.items():
        print(f"{name:36} {len(seconds):4} {statistics.median(seconds):9.1f} {min(seconds):7.1f} {max(seconds):7.1f}")
    scale = statistics.median(list(results.values())[1])
    verdict = "meets" if scale <= TARGET_SECONDS else "MISSES"
    print(f"\n{args.labs}-lab start-up median {scale:.1f} s {verdict} the {TARGET_SECONDS:.0f} s target; load average "
          f"{os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
