"""`make demo`: compile and lint every pipeline under a folder and print what each declares; then
run two pipelines end to end on the embedded local cloud, one after the other (local-demo, one
stage; cis-two-stage, a fileset through two stages): `ncap local up` in the background, the
sample data submitted as a lab user (`ncap local submit --wait`), the downloaded summary printed,
and the cloud always stopped again (`ncap local down`)."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .compiler import is_directory_file
from .errors import NcapError

COLUMNS = ("pipeline", "labs", "users", "shared", "trigger", "stages", "workers", "functions", "queues", "alarms",
           "IAM", "stacks", "resources", "cfn-lint", "seconds")


def summarize(config_path: Path) -> dict:
    from .compiler import compile_file
    from .lint import lint_template
    from .template.limits import deployed_resource_count

    started = time.perf_counter()
    compiled, _ = compile_file(config_path)
    templates = [compiled.template, *compiled.children.values()]
    findings = [f for t in templates for f in lint_template(t, compiled.config.region)]
    types = Counter(r["Type"] for t in templates for r in t["Resources"].values())
    config = compiled.config
    return {
        "pipeline": config.pipeline_name, "labs": len(config.affiliates),
        "users": len(config.created_users), "trigger": config.trigger.mode,
        "shared": sum(1 for u in config.created_users if len(config.labs_of(u)) > 1),  # people in several labs
        "stacks": len(templates),
        "stages": len(config.worker_stages),
        "workers": " + ".join(f"0-{s.workers.max_size} {s.workers.instance_type}" for s in config.worker_stages),
        "functions": types["AWS::Serverless::Function"],
        "queues": types["AWS::SQS::Queue"], "alarms": types["AWS::CloudWatch::Alarm"],
        "IAM": sum(n for t, n in types.items() if t.startswith("AWS::IAM::")),
        "resources": compiled.resource_count + sum(deployed_resource_count(c) for c in compiled.children.values()),
        "cfn-lint": "clean" if not findings else f"{len(findings)} findings",
        "seconds": f"{time.perf_counter() - started:.2f}",
    }


def _directory(config_path: Path) -> int:
    """Compile and lint a directory's config (not a pipeline: no row of the table); 1 on findings."""
    from .compiler import compile_directory_file
    from .lint import lint_template
    from .template.limits import deployed_resource_count

    template, target = compile_directory_file(config_path)
    findings = lint_template(template, str(json.loads(config_path.read_text())["REGION"]))
    name = json.loads(config_path.read_text())["DirectoryName"]
    print(f"  directory {name}: {deployed_resource_count(template)} resources, "
          f"cfn-lint {'clean' if not findings else f'{len(findings)} findings'} ({target})")
    return 1 if findings else 0


def table(rows: list[dict]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS),
             "  ".join("-" * widths[c] for c in COLUMNS)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in COLUMNS) for r in rows]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    cloud = "--no-cloud" not in argv
    argv = [a for a in argv if a != "--no-cloud"]
    root = Path(argv[0] if argv else "pipelines")
    configs = sorted(root.glob("*/stack_config.json"))
    if not configs:
        print(f"no pipelines found: {root}/*/stack_config.json", file=sys.stderr)
        return 1
    rows, failed = [], 0
    for path in configs:
        print(f"compiling and linting {path} ...", flush=True)
        try:
            if is_directory_file(path):
                failed += _directory(path)
                continue
            rows.append(summarize(path))
        except NcapError as exc:
            failed += 1
            print("\n".join(f"  {line}" for line in exc.lines()), file=sys.stderr)
    if rows:
        print("\n" + table(rows))
        print("\nEach template is compiled_template.json beside its stack_config.json.", flush=True)
    code = 1 if failed or any(r["cfn-lint"] != "clean" for r in rows) else 0
    if cloud:
        for demo in DEMOS:
            code = max(code, end_to_end(root / demo.pipeline, demo, Path(".ncap") / "demo" / "results"))
        code = max(code, directory_journey(root / DIRECTORY_DEMO, Path(".ncap") / "demo" / "results"))
    return code


# --- the end-to-end part: one pipeline on the embedded local cloud ----------------------------

@dataclass(frozen=True)
class Demo:
    pipeline: str  # a folder under the pipelines folder
    user: str  # the lab user who submits
    data: tuple[str, ...]  # the sample files, relative to the pipeline folder
    config: str | None  # the analysis config (None in fileset mode)


DEMOS = (Demo("local-demo", "alice", ("sample/trial_01.csv",), "sample/config.json"),
         Demo("cis-two-stage", "clinic-uploader", ("sample/walk_01.mp4", "sample/walk_01.hpf"), None))
NCAP = [sys.executable, "-m", "ncap_iac.cli"]
START_TIMEOUT = 90.0
JOB_TIMEOUT = 120.0


def _step(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def end_to_end(pipeline: Path, demo: Demo, results: Path) -> int:
    """Run the sample of `pipeline` on a local cloud; 0 when its job succeeded."""
    data = [pipeline / name for name in demo.data]
    config = pipeline / demo.config if demo.config else None
    wanted = [pipeline / "stack_config.json", *data, *filter(None, [config])]
    if not all(path.is_file() for path in wanted):
        print(f"\nno end-to-end demo: {pipeline} with {', '.join(str(p.relative_to(pipeline)) for p in wanted)} "
              "not found", file=sys.stderr)
        return 1
    if importlib.util.find_spec("moto") is None:
        print("\nthe end-to-end demo needs the AWS emulator: pip install 'moto[server]==5.2.5' "
              "(`make test` installs it)", file=sys.stderr)
        return 1
    print(f"\nEnd to end on the embedded local cloud: {pipeline}", flush=True)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="ncap-demo-"))
    state, ok = work / "state", False
    _step(f"starting the local cloud: ncap local up {pipeline} --workers 1 (state in {state})")
    with (work / "up.log").open("wb") as log:
        up = subprocess.Popen([*NCAP, "local", "up", str(pipeline), "--workers", "1", "--state-dir", str(state)],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        if not _wait_ready(up, state, work / "up.log"):
            return 1
        info = json.loads((state / "local.json").read_text(encoding="utf-8"))
        _step(f"ready in {time.monotonic() - started:.1f} s: emulator {info['endpoint_url']}, bucket {info['bucket']}, "
              f"users {', '.join(sorted(info['users']))}")
        given = " and ".join(p.name for p in data) + (f" with {config.name}" if config else "")
        _step(f"submitting {given} as lab user {demo.user}, waiting for the result")
        submit = subprocess.Popen(
            [*NCAP, "local", "submit", str(pipeline), "--user", demo.user, "--data", *map(str, data),
             *(["--config", str(config)] if config else []),
             "--wait", "--out", str(results), "--timeout", str(JOB_TIMEOUT), "--state-dir", str(state)],
            stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)  # its progress bar goes to stderr
        said = []
        for line in submit.stdout or ():
            said.append(line.rstrip("\n"))
            print(f"       {said[-1]}", flush=True)
        if submit.wait() != 0:
            _step("the job did not succeed")
            return 1
        ok = _show_summary(said) and (config is None or _lab_journey(pipeline, demo, data, config, state, results))
        return 0 if ok else 1
    finally:
        _step("stopping the local cloud: ncap local down")
        print(f"       {_down(up, state)}", flush=True)
        if ok:
            shutil.rmtree(work, ignore_errors=True)
            _step(f"done in {time.monotonic() - started:.1f} s")
        else:
            _step(f"the local cloud's logs are kept in {work} (up.log, state/moto.log, state/worker-*.log)")


def _lab_journey(pipeline: Path, demo: Demo, data: list[Path], config: Path, state: Path, results: Path) -> bool:
    """The same job as a lab member runs it with `ncap lab`: upload, submit, follow the log, fetch
    the results (each checked), list the lab's jobs."""
    where = ["--local", str(pipeline), "--local-state", str(state), "--user", demo.user]

    def lab(*args: str, show: bool = True) -> str | None:
        _step(f"ncap lab {' '.join(args)}")
        done = subprocess.run([*NCAP, "lab", *args, *where], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=JOB_TIMEOUT)
        for line in (done.stdout.splitlines() if show else []) + (done.stderr.splitlines() if done.returncode else []):
            print(f"       {line}", flush=True)
        return done.stdout if done.returncode == 0 else None

    _step(f"the same job as lab member {demo.user} runs it with `ncap lab`:")
    steps = [lambda: lab("upload", *map(str, data)), lambda: lab("upload", str(config), "--as", "configs")]
    if not all(step() is not None for step in steps):
        return False
    submitted = lab("submit", "--data", *[p.name for p in data], "--config", config.name)
    if submitted is None:
        return False
    job = submitted.strip()
    return all(step() is not None for step in (
        lambda: lab("logs", job, "--follow"), lambda: lab("results", job, "--out", str(results / f"lab-{job}")),
        lambda: lab("jobs")))


DIRECTORY_DEMO = "directory-demo"
DEMO_PASSWORDS = {"NCAP_PASSWORD": "Demo-password-1", "NCAP_NEW_PASSWORD": "Demo-password-2"}  # the emulator's only


def directory_journey(pipeline: Path, results: Path) -> int:
    """A lab member of a pipeline that uses a directory: signs up (the code from the emails the
    local cloud caught), asks to join lab-a, is approved by its admin (invited when the directory
    was made, who sets a new password at the first login), logs in, and runs the sample with
    `ncap lab`. 0 when the job succeeded."""
    print(f"\nA lab member's journey through a directory, on the embedded local cloud: {pipeline}", flush=True)
    started, work = time.monotonic(), Path(tempfile.mkdtemp(prefix="ncap-demo-"))
    state, ok = work / "state", False
    _step(f"starting the local cloud: ncap local up {pipeline} --workers 1 (the directory lab-directory with it)")
    with (work / "up.log").open("wb") as log:
        up = subprocess.Popen([*NCAP, "local", "up", str(pipeline), "--workers", "1", "--state-dir", str(state)],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        if not _wait_ready(up, state, work / "up.log"):
            return 1
        ok = _people(pipeline, state, work, results)
        return 0 if ok else 1
    finally:
        _step("stopping the local cloud: ncap local down")
        print(f"       {_down(up, state)}", flush=True)
        if ok:
            shutil.rmtree(work, ignore_errors=True)
            _step(f"done in {time.monotonic() - started:.1f} s")
        else:
            _step(f"the local cloud's logs are kept in {work} (up.log, state/moto.log)")


def _people(pipeline: Path, state: Path, work: Path, results: Path) -> bool:
    settings = str(state / "directory.json")

    def ncap(who: str, *args: str, show: bool = True, env: dict | None = None) -> str | None:
        _step(f"{who}: ncap {' '.join(args)}")
        done = subprocess.run([*NCAP, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=JOB_TIMEOUT, env={**os.environ, "XDG_CONFIG_HOME": str(work / who / "config"),
                                                        "XDG_CACHE_HOME": str(work / who / "cache"), **(env or {})})
        for line in (done.stdout.splitlines() if show else []) + (done.stderr.splitlines() if done.returncode else []):
            print(f"       {line}", flush=True)
        return done.stdout if done.returncode == 0 else None

    def mail(to: str, kind: str, after: str) -> str | None:
        found = ncap("platform", "local", "mail", str(pipeline), "--state-dir", str(state), "--to", to, "--json",
                     show=False)
        bodies = [json.loads(line)["body"] for line in (found or "").splitlines() if json.loads(line)["kind"] == kind]
        return bodies[-1].split(after, 1)[1].split(";")[0].split()[0] if bodies else None

    ann, admin = "ann@example.org", "pi-a@example.org"
    where = ("--lab", "lab-a", "--pipeline", "ncap-directory-demo")
    if ncap("ann", "lab", "signup", "--settings", settings, "--email", ann, env=DEMO_PASSWORDS) is None:
        return False
    code = mail(ann, "verification", "code is ")
    steps = [lambda: code and ncap("ann", "lab", "verify", "--settings", settings, "--email", ann, "--code", code),
             lambda: ncap("ann", "lab", "login", "--settings", settings, "--email", ann, env=DEMO_PASSWORDS),
             lambda: ncap("ann", "lab", "join", "lab-a"),
             lambda: ncap("pi-a", "lab", "login", "--settings", settings, "--email", admin,
                          env={"NCAP_PASSWORD": mail(admin, "invitation", "temporary password ") or "",
                               "NCAP_NEW_PASSWORD": DEMO_PASSWORDS["NCAP_NEW_PASSWORD"]}),
             lambda: ncap("pi-a", "lab", "approve", ann, "--lab", "lab-a"),
             lambda: ncap("pi-a", "lab", "members", "--lab", "lab-a"),
             lambda: ncap("ann", "lab", "labs"),
             lambda: ncap("ann", "lab", "upload", str(pipeline / "sample" / "trial_01.csv"), *where),
             lambda: ncap("ann", "lab", "upload", str(pipeline / "sample" / "config.json"), "--as", "configs", *where)]
    if not all(step() is not None for step in steps):
        return False
    job = ncap("ann", "lab", "submit", "--data", "trial_01.csv", "--config", "config.json", *where)
    return job is not None and all(step() is not None for step in (
        lambda: ncap("ann", "lab", "logs", job.strip(), "--follow", *where),
        lambda: ncap("ann", "lab", "results", job.strip(), "--out", str(results / f"directory-{job.strip()}"), *where)))


def _wait_ready(up: subprocess.Popen, state: Path, log: Path) -> bool:
    """Show `up`'s progress lines until local.json exists; False if it ended or timed out first."""
    shown, deadline = 0, time.monotonic() + START_TIMEOUT
    while True:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        for line in lines[shown:]:
            print(f"       {line}", flush=True)
        shown = len(lines)
        if (state / "local.json").exists():
            return True
        if up.poll() is not None:
            _step(f"`ncap local up` stopped before it was ready (exit {up.returncode})")
            return False
        if time.monotonic() > deadline:
            _step(f"the local cloud was not ready within {START_TIMEOUT:.0f} s")
            return False
        time.sleep(0.1)


def _show_summary(said: list[str]) -> bool:
    folders = [line.rsplit(" ", 1)[1] for line in said if "results downloaded to" in line]
    summary = Path(folders[-1]) / "process_results" / "summary.json" if folders else None
    if summary is None or not summary.is_file():
        _step("no summary.json among the downloaded results")
        return False
    _step(f"the analysis' result, {summary}:")
    for line in summary.read_text(encoding="utf-8").splitlines():
        print(f"       {line}", flush=True)
    return True


def _down(up: subprocess.Popen, state: Path, timeout: float = 90.0) -> str:
    """`ncap local down`; meanwhile `up` (our child) is reaped as soon as it exits, since `down`
    waits until that process is gone. Kill `up` (by its pid) if it is somehow still there."""
    if up.poll() is None and (state / "pids.json").exists():
        down = subprocess.Popen([*NCAP, "local", "down", "--state-dir", str(state)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while down.poll() is None and time.monotonic() < deadline:
            up.poll()
            time.sleep(0.05)
        if down.poll() is None:
            down.kill()
        said = (down.communicate()[0] or "").strip()
    elif up.poll() is None:  # still starting: Ctrl-C makes `up` stop what it started
        up.send_signal(signal.SIGINT)
        said = "interrupted the starting local cloud"
    else:
        said = f"the local cloud had already stopped (exit {up.returncode})"
    try:
        up.wait(timeout=30)
    except subprocess.TimeoutExpired:
        up.kill()
        up.wait()
        said += "; killed `ncap local up`"
    return said


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
