#!/usr/bin/env python3
"""A worker's boot, as the local cloud boots it: from the start of the launch template's user data
to the agent's first receive, with the agent bundle not yet on the instance (downloaded from the
artifact bucket, checked, unpacked into a new venv) and already there (an image that carries it).

The pieces are the local cloud's own: the emulator (moto) in a thread of this process, which holds
the artifact bucket (the agent bundle and local-demo's analysis, uploaded as `ncap deploy` uploads
them) and a job queue; the instances' metadata service stand-in (local/metadata.py); the stand-in
tools; and local-demo's compiled user data, rendered as CloudFormation renders it. Each boot is a
whole process (bash running the script, then the agent it execs); its boot time is the agent's
"started" decision (logged right before its first ReceiveMessage) minus the moment the script was
started. Uncached boots each get a fresh NCAP_ROOT; cached boots share one that a first, unmeasured
boot filled. Rounds interleave the two. Figures: median, min and max over the runs, the install
step's own time as the boot reports it, and the ratio of the medians.
Usage: python benchmarks/worker_boot.py [--runs N]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REGION, ACCOUNT, ARTIFACTS = "us-east-1", "123456789012", "bench-artifacts"
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
os.environ.pop("AWS_PROFILE", None)


def world(endpoint: str, folder: Path) -> dict:
    """The artifact bucket and a queue on the emulator; local-demo's user data, rendered."""
    import boto3

    from ncap_iac.aws.clients import Aws
    from ncap_iac.aws.worker_artifacts import upload_worker_artifacts
    from ncap_iac.compiler import compile_config
    from ncap_iac.config import load
    from ncap_iac.local.instances import write_stand_ins

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).read()
    aws = Aws(REGION, endpoint, ("testing", "testing"))
    aws.s3.create_bucket(Bucket=ARTIFACTS)
    config = load(REPO / "pipelines" / "local-demo" / "stack_config.json")
    values = upload_worker_artifacts(aws, ARTIFACTS, config.artifact_folders, say=lambda line: None)
    values["JobQueue"] = boto3.client("sqs", endpoint_url=endpoint).create_queue(QueueName="jobs")["QueueUrl"]
    values.update({"AWS::Region": REGION, "AWS::Partition": "aws", "AWS::AccountId": ACCOUNT,
                   "Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic",
                   "JobRoles": f"arn:aws:iam::{ACCOUNT}:role/ncap/{config.pipeline_name}/jobs/"})
    template = compile_config(config, folder).template
    text = template["Resources"]["WorkerLaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"][
        "Fn::Base64"]["Fn::Sub"][0]
    script = re.sub(r"\$\{(?!!)([^}]+)\}", lambda m: values[m.group(1)], text).replace("${!", "${")
    (folder / "user-data").write_text(script)
    (folder / "user-data").chmod(0o700)
    return {"endpoint": endpoint, "stand_ins": write_stand_ins(folder), "script": folder / "user-data"}


def boot(setup: dict, metadata, root: Path, name: str, folder: Path) -> dict:
    """One boot; {seconds, install} (install: the agent's install time, None when it was there)."""
    from ncap_iac.local.instances import AGENT_TIMINGS
    from ncap_iac.local.metadata import Instance

    keys = {"AccessKeyId": "testing", "SecretAccessKey": "testing", "SessionToken": "testing",
            "Expiration": datetime.now(UTC) + timedelta(hours=1)}
    metadata.add(Instance(name, "t3.micro", "worker", lambda: keys, lambda: "InService"))
    log = folder / f"{name}.log"
    env = {"PATH": f"{setup['stand_ins']}:{os.environ['PATH']}", "HOME": str(folder), "NCAP_ROOT": str(root),
           "TMPDIR": str(folder), "AWS_ENDPOINT_URL": setup["endpoint"], "NCAP_LOCAL_CLOUD": "1",
           "AWS_EC2_METADATA_SERVICE_ENDPOINT": metadata.endpoint(name), **AGENT_TIMINGS}
    started = time.time()
    process = subprocess.Popen([str(setup["script"])], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        line = wait_for_start(process, log)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    installed = re.search(r"ncap boot: agent \w+ installed from \S+ in ([\d.]+) s", log.read_text())
    return {"seconds": json.loads(line)["time"] - started, "install": float(installed.group(1)) if installed else None}


def wait_for_start(process: subprocess.Popen, log: Path, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if '"decision": "started"' in line:
                return line
        if process.poll() is not None:
            raise SystemExit(f"the boot ended (code {process.returncode}):\n{log.read_text()}")
        time.sleep(0.01)
    raise SystemExit(f"no agent started within {timeout} s:\n{log.read_text()}")


def stats(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="boots of each kind (default 7)")
    args = parser.parse_args()
    from ncap_iac.emulator.server import endpoint_of, threaded_server
    from ncap_iac.local.metadata import MetadataService

    server = threaded_server()
    metadata = MetadataService(REGION, ACCOUNT)
    try:
        with tempfile.TemporaryDirectory(prefix="ncap-boot-bench-") as scratch:
            folder = Path(scratch)
            setup = world(endpoint_of(server), folder)
            boot(setup, metadata, folder / "cached-root", "i-warm", folder)  # fills the cached root, unmeasured
            uncached, cached = [], []
            for n in range(args.runs):
                uncached.append(boot(setup, metadata, folder / f"root-{n}", f"i-cold-{n}", folder))
                cached.append(boot(setup, metadata, folder / "cached-root", f"i-cached-{n}", folder))
    finally:
        metadata.stop()
        server.stop()
    cold = [b["seconds"] for b in uncached]
    warm = [b["seconds"] for b in cached]
    print(f"worker boot on the local cloud's pieces (local-demo's user data), {args.runs} boots of each kind, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"  agent bundle not on the instance: {stats(cold)}")
    print(f"    of which the agent's download, check and venv: {stats([b['install'] for b in uncached])}")
    print(f"  agent bundle on the instance:     {stats(warm)}")
    print(f"  uncached / cached: {statistics.median(cold) / statistics.median(warm):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
