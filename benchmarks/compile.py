#!/usr/bin/env python3
"""Whole-process cost of `ncap compile`, Python start-up included, pinned to one core.

Cases: the local demo pipeline and a generated config of 50 labs x 5 users. The baseline, run in
the same invocation, is a bare interpreter start (`python -c pass`); ratios are against it.
Target: the demo compiles in under 0.5 s wall. Usage: python benchmarks/compile.py [--runs N]
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from factories import many_labs_config  # noqa: E402

TARGET_SECONDS = 0.5


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def run_once(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_one_core)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss


def measure(argv: list[str], runs: int) -> dict:
    run_once(argv)  # warm the file cache
    samples = [run_once(argv) for _ in range(runs)]
    walls = [s[0] for s in samples]
    return {"median": statistics.median(walls), "min": min(walls), "max": max(walls),
            "rss_mib": max(s[1] for s in samples) / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "many-labs" / "stack_config.json"
        big.parent.mkdir()
        big.write_text(json.dumps(many_labs_config(50, 5)))
        demo_out = Path(tmp) / "demo" / "compiled_template.json"
        cases = {
            "baseline: python -c pass": [sys.executable, "-c", "pass"],
            "ncap compile local-demo": [sys.executable, "-m", "ncap_iac.cli", "compile",
                                        str(REPO / "pipelines/local-demo/stack_config.json"), "-o", str(demo_out)],
            "ncap compile 50 labs x 5 users": [sys.executable, "-m", "ncap_iac.cli", "compile", str(big)],
        }
        results = {name: measure(argv, args.runs) for name, argv in cases.items()}
    baseline = results["baseline: python -c pass"]["median"]
    print(f"{'case':34} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9} {'x baseline':>11}")
    for name, r in results.items():
        print(f"{name:34} {r['median']:9.3f} {r['min']:7.3f} {r['max']:7.3f} {r['rss_mib']:9.1f} "
              f"{r['median'] / baseline:11.1f}")
    demo = results["ncap compile local-demo"]["median"]
    verdict = "meets" if demo < TARGET_SECONDS else "MISSES"
    print(f"\nlocal-demo median {demo:.3f} s on one core {verdict} the {TARGET_SECONDS} s target "
          f"({args.runs} runs each, python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
