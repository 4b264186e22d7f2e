"""Shared helpers for the tests (and the benchmark) that start a real local cloud.

`local_cloud(...)` runs `ncap local up` as a real subprocess, with its state in a given folder and
the emulator on the free port it binds itself (no --port unless a test asks for one; the port
comes from local.json's endpoint_url), waits until STATE_DIR/local.json exists (the cloud says it
is ready only then), and always stops it afterwards: `ncap local down`, then a kill of whatever is left
(by the process ids it recorded, never by name). Clients are made from local.json's credentials,
so a test talks to the cloud exactly as a lab member or the operator would.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PIPELINES = REPO / "pipelines"
NCAP = [sys.executable, "-m", "ncap_iac.cli"]
FINAL = ("SUCCESS", "FAILED", "REJECTED")
START_TIMEOUT = 90.0  # a loaded 2-core machine; an idle one needs about 6 s


def ncap(*args: str, timeout: float = 60.0, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run `ncap ARGS` as a subprocess, in the repository, with a clean AWS environment (and `env`)."""
    return subprocess.run([*NCAP, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env={**clean_env(), **(env or {})}, **kwargs)


def clean_env() -> dict:
    """This environment without AWS settings: the local cloud must not depend on them."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def pipeline_copy(source: str | Path, target: Path, change=None) -> Path:
    """Copy a pipeline folder (stack_config.json and its analysis/sample folders) to `target`;
    `change(document)` may edit the config document in place first."""
    import shutil

    source = PIPELINES / source if isinstance(source, str) else source
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("compiled_template.json", "samconfig.toml",
                                                                  "__pycache__"))
    document = json.loads((source / "stack_config.json").read_text(encoding="utf-8"))
    document.pop("$schema", None)
    if change:
        change(document)
    (target / "stack_config.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    return target


# --- processes -----------------------------------------------------------------------------

def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def children_map() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text(errors="replace").rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children, grandchildren, ...)."""
    tree, found, todo = children_map(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found and alive(child):
                found.add(child)
                todo.append(child)
    return found


def kill_all(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def wait_gone(pids, timeout: float) -> set[int]:
    """The pids still alive after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    left = {p for p in pids if alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = {p for p in left if alive(p)}
    return left


# --- the cloud -----------------------------------------------------------------------------

class CloudStartError(AssertionError):
    """`ncap local up` ended (or hung) before writing local.json; carries its output."""


@dataclass
class LocalCloud:
    pipeline_dir: Path
    state_dir: Path
    port: int | None  # the emulator's, once ready (from local.json), or the --port given
    process: subprocess.Popen
    output_path: Path
    started: float
    ready_seconds: float = 0.0
    info: dict = field(default_factory=dict)
    pids: dict = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.output_path.read_text(errors="replace") if self.output_path.exists() else ""

    @property
    def bucket(self) -> str:
        return self.info["bucket"]

    def users_of(self, affiliate: str) -> list[str]:
        return sorted(u for u, e in self.info["users"].items() if e["affiliate"] == affiliate)

    def affiliate_of(self, user: str) -> str:
        return self.info["users"][user]["affiliate"]

    def session(self, user: str | None = None):
        """A boto3 session with a lab user's keys (None: the emulator's administrator)."""
        import boto3

        keys = self.info["users"][user] if user else self.info["admin"]
        return boto3.Session(aws_access_key_id=keys["access_key_id"],
                             aws_secret_access_key=keys["secret_access_key"], region_name=self.info["region"])

    def client(self, service: str, user: str | None = None):
        from botocore.config import Config

        return self.session(user).client(service, endpoint_url=self.info["endpoint_url"],
                                         config=Config(retries={"max_attempts": 1}))

    def all_pids(self) -> set[int]:
        """The up process, the pids it recorded, and every process below it now."""
        recorded = {self.pids.get("up"), self.pids.get("moto"), *self.pids.get("workers", []),
                    *self.pids.get("functions", [])}
        return {p for p in recorded | {self.process.pid} | descendants(self.process.pid) if p}

    def down(self, timeout: float = 60.0) -> subprocess.CompletedProcess:
        """`ncap local down`, reaping `up` (our child) meanwhile: `down` waits until the up process
        is gone, and a child that exited but is not yet reaped (a zombie) still counts as alive."""
        argv = [*NCAP, "local", "down", "--state-dir", str(self.state_dir)]
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                                   env=clean_env())
        deadline = time.monotonic() + timeout
        while process.poll() is None:
            self.process.poll()
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise subprocess.TimeoutExpired(argv, timeout)
            time.sleep(0.05)
        stdout, stderr = process.communicate()
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)

    def owns(self, pid: int) -> bool:
        """True when `pid` is one of this cloud's processes (its command line names the state
        folder or, for the emulator, the port): a recorded pid may have been reused since."""
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            return False
        return any(str(self.state_dir) in arg for arg in args) or (
            "ncap_iac.emulator.server" in args and self.port is not None and str(self.port) in args)

    def stop(self) -> None:
        """`ncap local down` when it still runs; then kill anything of it left (by pid)."""
        recorded = {self.pids.get("moto"), *self.pids.get("workers", []), *self.pids.get("functions", [])} - {None}
        below = self.all_pids() if self.process.poll() is None else set()  # seen alive under `up` now
        if self.process.poll() is None:
            if (self.state_dir / "pids.json").exists():
                try:
                    self.down()
                except subprocess.TimeoutExpired:
                    pass
            else:  # still starting: Ctrl-C makes `up` clean up what it started
                self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        left = wait_gone(below | recorded, 2.0) - {self.process.pid}
        kill_all(p for p in left if p in below or self.owns(p))
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def start_cloud(pipeline_dir: Path, state_dir: Path, workers: int = 0, port: int | None = None,
                timeout: float = START_TIMEOUT, extra: tuple = (), env: dict | None = None) -> LocalCloud:
    """Start `ncap local up` (on `port`, or a free port the emulator binds itself) and return once
    local.json exists. If `up` ends first, or nothing is ready within `timeout`, stop it and raise
    CloudStartError with its output."""
    from urllib.parse import urlparse

    state_dir.mkdir(parents=True, exist_ok=True)
    output_path = state_dir.parent / f"{state_dir.name}-up.log"
    argv = [*NCAP, "local", "up", str(pipeline_dir), "--workers", str(workers), *(["--port", str(port)] if port else []),
            "--state-dir", str(state_dir), *extra]
    with output_path.open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=REPO, env={**clean_env(), **(env or {})})
    cloud = LocalCloud(Path(pipeline_dir), state_dir, port, process, output_path, time.monotonic())
    local_json = state_dir / "local.json"
    deadline = cloud.started + timeout
    while not local_json.exists():
        if process.poll() is not None:
            raise CloudStartError(f"`ncap local up` exited {process.returncode} before it was ready:\n{cloud.output}")
        if time.monotonic() > deadline:
            cloud.stop()
            raise CloudStartError(f"`ncap local up` not ready within {timeout:.0f} s:\n{cloud.output}")
        time.sleep(0.05)
    cloud.ready_seconds = time.monotonic() - cloud.started
    cloud.info = json.loads(local_json.read_text(encoding="utf-8"))
    cloud.port = urlparse(cloud.info["endpoint_url"]).port
    if port:
        assert cloud.port == port, cloud.info["endpoint_url"]
    cloud.pids = json.loads((state_dir / "pids.json").read_text(encoding="utf-8"))
    return cloud


@contextmanager
def local_cloud(pipeline_dir: Path, state_dir: Path, workers: int = 0, port: int | None = None,
                timeout: float = START_TIMEOUT, extra: tuple = ()):
    """A running local cloud for the `with` block; always stopped at the end."""
    cloud = start_cloud(pipeline_dir, state_dir, workers, port, timeout, extra)
    try:
        yield cloud
    finally:
        cloud.stop()


# --- jobs ----------------------------------------------------------------------------------

def read_json(s3, bucket: str, key: str) -> dict | None:
    """The JSON document at `key`, None while there is none. A lab member may list only under its
    own prefix, so reading a key that does not exist is AccessDenied for it (as on AWS), not
    NoSuchKey: whether it exists is asked by listing it."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    if not listed or listed[0]["Key"] != key:
        return None
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:  # deleted since it was listed
        return None


def status_key(affiliate: str, job_id: str) -> str:
    return f"{affiliate}/results/job_{job_id}/logs/status.json"


def wait_status(s3, bucket: str, key: str, final=FINAL, timeout: float = 60.0) -> dict:
    """The status document once its status is one of `final`; AssertionError after `timeout`."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = read_json(s3, bucket, key)
        if last and last.get("status") in final:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{key} not in {final} within {timeout:.0f} s; last: {last}")


def keys_under(s3, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def queue_counts(sqs, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])
