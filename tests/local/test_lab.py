"""A lab member's journey with `ncap lab` on the local cloud, as real subprocesses with a lab
user's own keys (--local): a large upload killed half way completes when run again, sending only
the parts S3 lacks; two jobs with same-named configs, the second config uploaded right after the first job was submitted,
each run with their own bytes; a job's log lines show through `logs --follow` before it ends; its
results come down checked; a long job is cancelled within 15 s and a finished one is not."""
import hashlib
import json
import os
import re
import signal
import subprocess
import time

import pytest

from cloud_helpers import NCAP, REPO, clean_env, local_cloud, pipeline_copy

ANALYSIS = '''\
import json, os, sys, time
from pathlib import Path
config = json.loads(Path(os.environ["NCAP_CONFIG_PATH"]).read_text())
for n in range(int(config.get("lines", 1))):
    print(f"line {n}", flush=True)
    time.sleep(float(config.get("pause", 0)))
value = float(Path(os.environ["NCAP_INPUT_PATH"]).read_text().split()[-1])
out = Path(os.environ["NCAP_OUTPUT_DIR"])
(out / "answer.json").write_text(json.dumps({"value": round(value, int(config["precision"])), "config": config}))
(out / "more" ).mkdir()
(out / "more" / "note.txt").write_text("a second file")
'''


def lab_pipeline(document):
    document["PipelineName"] = "ncap-lab-journey"
    document["Workers"]["Command"] = "python3 analysis/run.py"
    document["Workers"]["JobTimeoutSeconds"] = 900


def lab(cloud, *args, timeout: float = 120.0, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([*NCAP, "lab", *args, "--local", str(cloud.pipeline_dir), "--local-state",
                           str(cloud.state_dir), "--lab", "lab-a"], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env={**clean_env(), "XDG_CACHE_HOME": str(cloud.cache)})
    if check:
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def write_config(folder, name: str, **values) -> str:
    path = folder / name
    path.write_text(json.dumps(values))
    return str(path)


@pytest.mark.slow
def test_a_lab_members_journey_with_ncap_lab(tmp_path):
    pipeline = pipeline_copy("local-demo", tmp_path / "pipeline", lab_pipeline)
    (pipeline / "analysis" / "run.py").write_text(ANALYSIS)
    files = tmp_path / "files"
    (files / "first").mkdir(parents=True)
    (files / "second").mkdir()
    with local_cloud(pipeline, tmp_path / "state", workers=2) as cloud:
        cloud.cache = tmp_path / "cache"
        admin = cloud.client("s3")

        # a large upload, killed once half of it is there, completes when run again
        big = files / "recording.bin"
        with open(big, "wb") as out:
            for block in range(200):
                out.write(hashlib.sha256(str(block).encode()).digest() * 32768)  # 1 MiB each, 200 MiB
        argv = [*NCAP, "lab", "upload", str(big), "--local", str(pipeline), "--local-state", str(cloud.state_dir),
                "--lab", "lab-a"]
        env = {**clean_env(), "XDG_CACHE_HOME": str(cloud.cache)}
        first = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline, seen = time.monotonic() + 120, b""
        while max(map(float, re.findall(rb"(\d+\.\d)%", seen)), default=0.0) < 40:
            assert time.monotonic() < deadline and first.poll() is None, seen
            seen += os.read(first.stderr.fileno(), 256)
        first.send_signal(signal.SIGKILL)
        first.wait()
        again = lab(cloud, "upload", str(big), "--json")
        answer = json.loads(again.stdout)
        assert answer["key"] == "lab-a/inputs/recording.bin" and answer["resumed_parts"] >= 2, answer
        stored = admin.get_object(Bucket=cloud.bucket, Key="lab-a/inputs/recording.bin")["Body"].read()
        assert hashlib.sha256(stored).digest() == hashlib.sha256(big.read_bytes()).digest()

        # two jobs with same-named configs: each runs with its own bytes
        (files / "x.csv").write_text("v\n1.23456789\n")
        lab(cloud, "upload", str(files / "x.csv"))
        lab(cloud, "upload", write_config(files / "first", "config.json", precision=1, lines=1), "--as", "configs")
        one = lab(cloud, "submit", "--data", "x.csv", "--config", "config.json", "--job-id", "first").stdout.strip()
        lab(cloud, "upload", write_config(files / "second", "config.json", precision=5, lines=1), "--as", "configs")
        two = lab(cloud, "submit", "--data", "x.csv", "--config", "config.json", "--job-id", "second").stdout.strip()
        assert (one, two) == ("first", "second")
        for job, precision, value in (("first", 1, 1.2), ("second", 5, 1.23457)):
            assert lab(cloud, "status", job, "--watch").returncode == 0
            out = tmp_path / "results" / job
            fetched = lab(cloud, "results", job, "--out", str(out))
            assert "(md5 checked)" in fetched.stdout
            answer = json.loads((out / "answer.json").read_text())
            assert (answer["value"], answer["config"]["precision"]) == (value, precision), job
            assert (out / "more" / "note.txt").read_text() == "a second file"

        # the log shows while the job runs
        lab(cloud, "upload", write_config(files, "slow.json", precision=2, lines=30, pause=0.2), "--as", "configs")
        lab(cloud, "submit", "--data", "x.csv", "--config", "slow.json", "--job-id", "slow")
        follow = subprocess.Popen([*NCAP, "lab", "logs", "slow", "--follow", "--local", str(pipeline), "--local-state",
                                   str(cloud.state_dir), "--lab", "lab-a"], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first_line = follow.stdout.readline()
        status_then = json.loads(lab(cloud, "status", "slow", "--json").stdout)["status"]
        rest, _ = follow.communicate(timeout=120)
        assert first_line.startswith("line 0") and status_then in ("QUEUED", "RUNNING"), (first_line, status_then)
        assert "line 29" in rest and follow.returncode == 0

        # a long job is cancelled within 15 s; a finished one is not
        lab(cloud, "upload", write_config(files, "long.json", precision=2, lines=3000, pause=0.2), "--as", "configs")
        lab(cloud, "submit", "--data", "x.csv", "--config", "long.json", "--job-id", "long")
        deadline = time.monotonic() + 90
        while json.loads(lab(cloud, "status", "long", "--json").stdout)["status"] != "RUNNING":
            assert time.monotonic() < deadline, "the long job never started"
            time.sleep(0.5)
        asked = time.monotonic()
        cancelled = lab(cloud, "cancel", "long", "--json", "--timeout", "30")
        took = time.monotonic() - asked
        document = json.loads(cancelled.stdout)
        assert document["status"] == "CANCELLED" and took < 15, (document, took)
        [entry] = document["datasets"].values()
        assert entry["partial"] is True
        refused = lab(cloud, "cancel", "first", check=False)
        assert refused.returncode == 1 and "job first has ended (SUCCESS): nothing to cancel" in refused.stderr

        # the lab's jobs, newest first
        listed = json.loads(lab(cloud, "jobs", "--json").stdout)
        assert [row["job_id"] for row in listed][:2] == ["long", "slow"]
        assert {row["job_id"]: row["status"] for row in listed} == {
            "first": "SUCCESS", "second": "SUCCESS", "slow": "SUCCESS", "long": "CANCELLED"}
