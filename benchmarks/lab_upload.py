#!/usr/bin/env python3
"""A lab member's large upload to the local cloud: `ncap lab upload` (parts of 8 MiB, ten at once,
resumable) beside `aws s3 cp` (the AWS CLI's own multipart transfer) of the same file, with the
same lab user's keys, in the same run. Each upload is a whole process, timed from start to exit;
rounds interleave the two. The local cloud is local-demo's, started by `ncap local up` with no
workers; the emulator keeps every object in memory (the bucket is versioned: each upload is kept),
so the default is 2 rounds of 1 GiB.

Figures: median, min and max seconds and the median's MB/s for each, and the ratio of the medians.
Usage: python benchmarks/lab_upload.py [--mebibytes N] [--runs N]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NCAP = [sys.executable, "-m", "ncap_iac.cli"]
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def start_cloud(pipeline: Path, state: Path) -> tuple[subprocess.Popen, dict]:
    log = open(state.parent / "up.log", "wb")
    process = subprocess.Popen([*NCAP, "local", "up", str(pipeline), "--workers", "0", "--state-dir", str(state)],
                               stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=CLEAN)
    deadline = time.monotonic() + 180
    while not (state / "local.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"ncap local up did not start: see {state.parent / 'up.log'}")
        time.sleep(0.2)
    return process, json.loads((state / "local.json").read_text())


def a_file(path: Path, mebibytes: int) -> None:
    with open(path, "wb") as out:
        for _ in range(mebibytes):
            out.write(os.urandom(1 << 20))


def timed(argv: list[str], env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(argv[:4])}... failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mebibytes", type=int, default=1024, help="the file's size in MiB (default 1024)")
    parser.add_argument("--runs", type=int, default=2, help="rounds of both uploads (default 2)")
    args = parser.parse_args()
    if shutil.which("aws") is None:
        raise SystemExit("the AWS CLI (aws) is needed for the comparison: pip install awscli")
    with tempfile.TemporaryDirectory(prefix="ncap-bench-upload-") as folder:
        root = Path(folder)
        pipeline = root / "pipeline"
        shutil.copytree(REPO / "pipelines" / "local-demo", pipeline)
        state = root / "state"
        process, info = start_cloud(pipeline, state)
        try:
            user = sorted(u for u, e in info["users"].items() if e["affiliate"] == "lab-a")[0]
            keys = info["users"][user]
            big = root / "recording.bin"
            a_file(big, args.mebibytes)
            lab_env = {**CLEAN, "XDG_CACHE_HOME": str(root / "cache")}
            cli_env = {**CLEAN, "AWS_ACCESS_KEY_ID": keys["access_key_id"],
                       "AWS_SECRET_ACCESS_KEY": keys["secret_access_key"], "AWS_DEFAULT_REGION": info["region"]}
            ours, theirs = [], []
            for _ in range(args.runs):
                ours.append(timed([*NCAP, "lab", "upload", str(big), "--local", str(pipeline), "--local-state",
                                   str(state), "--lab", "lab-a", "--json"], lab_env))
                theirs.append(timed(["aws", "s3", "cp", str(big), f"s3://{info['bucket']}/lab-a/inputs/cp.bin",
                                     "--endpoint-url", info["endpoint_url"], "--only-show-errors"], cli_env))
        finally:
            subprocess.run([*NCAP, "local", "down", str(pipeline), "--state-dir", str(state)], cwd=REPO, env=CLEAN,
                           capture_output=True, timeout=120)
            process.wait(timeout=60)
    size_mb = args.mebibytes * (1 << 20) / 1e6
    print(f"{args.mebibytes} MiB to the local cloud, {args.runs} runs each (whole processes)")
    for name, runs in (("ncap lab upload", ours), ("aws s3 cp", theirs)):
        median = statistics.median(runs)
        print(f"  {name:16} median {median:6.2f} s  min {min(runs):6.2f}  max {max(runs):6.2f}  "
              f"{size_mb / median:7.1f} MB/s")
    print(f"  ncap lab upload / aws s3 cp (medians): {statistics.median(ours) / statistics.median(theirs):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
