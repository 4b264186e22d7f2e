#!/usr/bin/env python3
"""From a password to a lab's credentials, against the local cloud's directory (directory-demo's,
started by `ncap local up` with no workers): a person signs up, verifies and is let into lab-a
once; then, in the same run, interleaved, each a whole process timed from start to exit:

- `ncap lab login` (Cognito's USER_PASSWORD_AUTH, the login saved), then `ncap lab jobs`, the first
  command that needs the lab's credentials (the directory function checks the token, reads the
  person's groups and the pipeline's registration, and assumes the member role with the lab's tag);
- `ncap lab jobs` again, with the credentials saved by the first (the cost a command pays once the
  credentials exist);
- the baseline: `python -c` of boto3 making one STS AssumeRole (with the lab's tag) of a role like
  the member role against the same emulator (the least a credential can cost a new process here).

Figures: median, min and max seconds of each, and the ratios of the medians to the baseline.
Usage: python benchmarks/directory_login.py [--runs N]
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

import boto3

REPO = Path(__file__).resolve().parents[1]
NCAP = [sys.executable, "-m", "ncap_iac.cli"]
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
PIPELINE = "ncap-directory-demo"
PASSWORD = "Bench-password-1"


def start_cloud(pipeline: Path, state: Path) -> subprocess.Popen:
    log = open(state.parent / "up.log", "wb")
    process = subprocess.Popen([*NCAP, "local", "up", str(pipeline), "--workers", "0", "--state-dir", str(state)],
                               stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=CLEAN)
    deadline = time.monotonic() + 180
    while not (state / "local.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"ncap local up did not start: see {state.parent / 'up.log'}")
        time.sleep(0.2)
    return process


def run(argv: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(argv[:5])}... failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def caught(state: Path, to: str, kind: str) -> str:
    lines = (state / "mail" / "mail.jsonl").read_text().splitlines()
    found = [json.loads(line) for line in lines]
    return [m for m in found if m["to"] == to and m["kind"] == kind][-1]["body"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds (default 7)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ncap-bench-login-"))
    for name in ("lab-directory", "directory-demo"):
        shutil.copytree(REPO / "pipelines" / name, work / name,
                        ignore=shutil.ignore_patterns(".ncap", "compiled_template.json", "ncap_functions"))
    state = work / "state"
    cloud = start_cloud(work / "directory-demo", state)
    try:
        settings = str(state / "directory.json")
        ann = {**CLEAN, "XDG_CONFIG_HOME": str(work / "ann"), "NCAP_PASSWORD": PASSWORD}
        admin = {**CLEAN, "XDG_CONFIG_HOME": str(work / "pi-a"), "NCAP_NEW_PASSWORD": "Bench-password-2",
                 "NCAP_PASSWORD": caught(state, "pi-a@example.org", "invitation").split("temporary password ")[1]
                 .split(";")[0]}
        run([*NCAP, "lab", "signup", "--settings", settings, "--email", "ann@example.org"], ann)
        code = caught(state, "ann@example.org", "verification").rsplit(" ", 1)[-1]
        run([*NCAP, "lab", "verify", "--settings", settings, "--email", "ann@example.org", "--code", code], ann)
        run([*NCAP, "lab", "login", "--settings", settings, "--email", "ann@example.org"], ann)
        run([*NCAP, "lab", "join", "lab-a"], ann)
        run([*NCAP, "lab", "login", "--settings", settings, "--email", "pi-a@example.org"], admin)
        run([*NCAP, "lab", "approve", "ann@example.org", "--lab", "lab-a"], admin)
        info = json.loads((state / "local.json").read_text())
        key = info["admin"]
        # the baseline's role: the member role trusts only the directory function, so one like it

        iam = boto3.client("iam", endpoint_url=info["endpoint_url"], region_name="us-east-1",
                           aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"])
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}
        role = iam.create_role(RoleName="bench-baseline", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        baseline = ("import boto3; boto3.client('sts', region_name='us-east-1').assume_role("
                    f"RoleArn={role!r}, RoleSessionName='bench', Tags=[{{'Key': 'ncap-lab', 'Value': 'lab-a'}}])")
        floor_env = {**CLEAN, "AWS_ENDPOINT_URL": info["endpoint_url"], "AWS_ACCESS_KEY_ID": key["access_key_id"],
                     "AWS_SECRET_ACCESS_KEY": key["secret_access_key"]}
        jobs = [*NCAP, "lab", "jobs", "--lab", "lab-a", "--pipeline", PIPELINE]
        figures: dict[str, list[float]] = {"login": [], "first command (credentials)": [], "login to credentials": [],
                                           "next command (saved)": [], "baseline: one AssumeRole": []}
        for _ in range(args.runs):
            login, _ = run([*NCAP, "lab", "login", "--settings", settings, "--email", "ann@example.org"], ann)
            first, _ = run(jobs, ann)
            again, _ = run(jobs, ann)
            floor, _ = run([sys.executable, "-c", baseline], floor_env)
            figures["login"].append(login)
            figures["first command (credentials)"].append(first)
            figures["login to credentials"].append(login + first)
            figures["next command (saved)"].append(again)
            figures["baseline: one AssumeRole"].append(floor)
    finally:
        subprocess.run([*NCAP, "local", "down", "--state-dir", str(state)], cwd=REPO, env=CLEAN, capture_output=True)
        cloud.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(figures["baseline: one AssumeRole"])
    print(f"{args.runs} rounds, whole processes, against the local cloud's directory")
    print(f"{'':30} {'median s':>9} {'min':>7} {'max':>7} {'x baseline':>11}")
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"{name:30} {median:9.3f} {min(values):7.3f} {max(values):7.3f} {median / base:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
