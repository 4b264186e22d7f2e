#!/usr/bin/env python3
"""Whole-process cost of `ncap compile`, Python start-up included, pinned to one core; beside it,
optionally, CDK synth of the same stack shape.

Cases: the local demo pipeline and a generated config of 50 labs x 5 users. The baseline, run in
the same invocation, is a bare interpreter start (`python -c pass`); ratios are against it.
Target: the demo compiles in under 0.5 s wall.

With --cdk DIR (a plain-JS CDK v2 app, e.g. ../shared/bench/cdk): `node app.js` with LABS/USERS
set to the local demo's shape, on the same core, with CDK's built-in template validation off
(CDK_VALIDATION=false) and on (CDK's default), beside a bare `node -e 0`. The compared pair is
validation off: `ncap compile` validates its config and writes the template but runs cfn-lint only
in `ncap lint`, as CDK with validation off checks its constructs but not the template. Target:
ncap compile at least 3x faster. DIR is never written to: when it has no node_modules, the app
is copied to a temporary folder and installed there with `npm ci`. Without --cdk, node or DIR the
comparison is skipped with a note.

Every case's output goes to a folder reused from run to run (a warm-up run comes first), for ncap
and CDK alike. Runs are interleaved across cases, so load that changes during the benchmark falls
on every case. Python processes run with bytecode caching on (PYTHONDONTWRITEBYTECODE is dropped
from their environment), as in an installed package: pip writes the .pyc files at install.

Usage: python benchmarks/compile.py [--runs N] [--cdk DIR [--validation-runs N]]
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
sys.path.insert(0, str(REPO / "tests"))
from factories import many_labs_config  # noqa: E402

DEMO = REPO / "pipelines/local-demo/stack_config.json"
TARGET_SECONDS = 0.5
SCALE_TARGET_SECONDS = 5.0
NCAP_SCALE = "ncap compile 300 labs x 16 users"
TARGET_RATIO = 3.0
NPM_CI = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
# As the app's synth.sh sets them: nothing contacts AWS or the network, no deprecation noise.
CDK_ENV = {"CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true",
           "AWS_EC2_METADATA_DISABLED": "true", "JSII_DEPRECATED": "quiet"}

PYTHON_BASELINE = "baseline: python -c pass"
NODE_BASELINE = "baseline: node -e 0"
NCAP_DEMO = "ncap compile local-demo"
CDK_OFF = "cdk synth, validation off"
CDK_ON = "cdk synth, validation on"


class Case:
    def __init__(self, name: str, argv: list[str], baseline: str, env: dict | None = None, cwd: Path | None = None,
                 runs: int = 0):
        self.name, self.argv, self.baseline, self.env, self.cwd, self.runs = name, argv, baseline, env, cwd, runs
        self.walls: list[float] = []
        self.rss_kib = 0


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def run_once(case: Case) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(case.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=case.env,
                               cwd=case.cwd, preexec_fn=_one_core)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(case.argv)}\n{errors}")
    return elapsed, usage.ru_maxrss


def measure(cases: list[Case]) -> None:
    """A warm-up run of each case (file cache, .pyc files, output folders), then the runs in rounds."""
    for case in cases:
        run_once(case)
    for round_ in range(max(c.runs for c in cases)):
        for case in (c for c in cases if round_ < c.runs):
            wall, rss = run_once(case)
            case.walls.append(wall)
            case.rss_kib = max(case.rss_kib, rss)


def demo_shape() -> tuple[int, int, str]:
    """(labs, users per lab) of the local demo, and a note when its labs differ in size."""
    affiliates = json.loads(DEMO.read_text())["UXData"]["Affiliates"]
    sizes = [len(a.get("UserNames", [])) + len(a.get("ExistingUserNames", [])) for a in affiliates]
    users = round(sum(sizes) / len(sizes))
    note = "" if len(set(sizes)) == 1 else f" (labs of {sizes} users: {users} each for CDK)"
    return len(affiliates), users, note


def cdk_app(folder: Path | None, tmp: Path) -> tuple[Path | None, str]:
    """The folder to run the CDK app in (installed), or None and why not."""
    if folder is None:
        return None, "CDK comparison skipped: no --cdk DIR given"
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node:
        return None, "CDK comparison skipped: node is not on PATH"
    if not (folder / "app.js").is_file():
        return None, f"CDK comparison skipped: {folder} has no app.js"
    if (folder / "node_modules").is_dir():
        return folder, f"CDK app: {folder} (installed)"
    if not npm:
        return None, f"CDK comparison skipped: {folder} has no node_modules and npm is not on PATH"
    copy = tmp / "cdk-app"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("node_modules", "cdk.out"))
    for path in [copy, *copy.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)  # the copy of a read-only folder must take node_modules
    print(f"{folder} has no node_modules: running npm ci in a temporary copy (about 15 s)", flush=True)
    installed = subprocess.run(NPM_CI, cwd=copy, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if installed.returncode != 0:
        last = (installed.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"CDK comparison skipped: npm ci failed in the copy of {folder}: {last}"
    return copy, f"CDK app: {folder} (copied and installed with npm ci in a temporary folder)"


def cdk_cases(app: Path, out: Path, labs: int, users: int, runs: int, validation_runs: int) -> list[Case]:
    env = {k: v for k, v in os.environ.items() if k != "CDK_VALIDATION"}
    env.update(CDK_ENV, LABS=str(labs), USERS=str(users), CDK_OUTDIR=str(out))
    return [
        Case(NODE_BASELINE, ["node", "-e", "0"], NODE_BASELINE, runs=runs),
        Case(CDK_OFF, ["node", "app.js"], NODE_BASELINE, {**env, "CDK_VALIDATION": "false"}, app, runs),
        Case(CDK_ON, ["node", "app.js"], NODE_BASELINE, env, app, validation_runs),
    ]


def resource_count(template: Path) -> int:
    return len(json.loads(template.read_text())["Resources"])


def versions(app: Path) -> str:
    try:
        lib = json.loads((app / "node_modules/aws-cdk-lib/package.json").read_text())["version"]
    except (OSError, KeyError, ValueError):
        lib = "?"
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return f"node {node}, aws-cdk-lib {lib}"


def scale_line(folder: Path, median: float) -> str:
    """What the 300-lab compile wrote: templates, and the largest one's resources and bytes."""
    sys.path.insert(0, str(REPO / "src"))
    from ncap_iac.template.limits import deployed_resource_count

    paths = [folder / "compiled_template.json", *sorted((folder / "labs").glob("*.json"))]
    sizes = [(deployed_resource_count(json.loads(p.read_text())), p.stat().st_size, p.name) for p in paths]
    most, largest = max(sizes), max(sizes, key=lambda s: s[1])
    verdict = "meets" if median <= SCALE_TARGET_SECONDS else "MISSES"
    return (f"300 labs x 16 users: {len(paths)} templates; most resources {most[0]} ({most[2]}), largest "
            f"{largest[1]:,} bytes ({largest[2]}); median {median:.2f} s on one core {verdict} the "
            f"{SCALE_TARGET_SECONDS:.0f} s target")


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each case (default 15)")
    parser.add_argument("--cdk", type=Path, metavar="DIR", help="a CDK app folder to compare with (app.js)")
    parser.add_argument("--validation-runs", type=int, default=5,
                        help="runs of CDK synth with validation on, about 5 s each (default 5)")
    args = parser.parse_args()
    load_before = load()
    python_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        big = tmp / "many-labs" / "stack_config.json"
        big.parent.mkdir()
        big.write_text(json.dumps(many_labs_config(50, 5)))
        scale = tmp / "scale" / "stack_config.json"
        scale.parent.mkdir()
        scale.write_text(json.dumps(many_labs_config(300, 16)))
        demo_out = tmp / "demo" / "compiled_template.json"
        ncap = [sys.executable, "-m", "ncap_iac.cli", "compile"]
        cases = [
            Case(PYTHON_BASELINE, [sys.executable, "-c", "pass"], PYTHON_BASELINE, python_env, runs=args.runs),
            Case(NCAP_DEMO, [*ncap, str(DEMO), "-o", str(demo_out)], PYTHON_BASELINE, python_env, runs=args.runs),
            Case("ncap compile 50 labs x 5 users", [*ncap, str(big)], PYTHON_BASELINE, python_env, runs=args.runs),
            Case(NCAP_SCALE, [*ncap, str(scale)], PYTHON_BASELINE, python_env, runs=max(3, args.runs // 3)),
        ]
        labs, users, shape_note = demo_shape()
        app, app_note = cdk_app(args.cdk.resolve() if args.cdk else None, tmp)
        print(app_note)
        cdk_out = tmp / "cdk.out"
        if app is not None:
            cases += cdk_cases(app, cdk_out, labs, users, args.runs, args.validation_runs)
        measure(cases)
        scale_walls = next(c for c in cases if c.name == NCAP_SCALE).walls
        scale_summary = scale_line(scale.parent, statistics.median(scale_walls))
        shapes = f"local-demo: {labs} labs x {users} user(s){shape_note}; ncap template {resource_count(demo_out)} " \
                 f"resources (before the SAM transform)"
        if app is not None:
            shapes += f", CDK template {resource_count(cdk_out / 'LabPipeline.template.json')} resources " \
                      f"({versions(app)})"
    results = {c.name: c for c in cases}
    print(f"\n{'case':34} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9} {'x baseline':>11}")
    for case in cases:
        median = statistics.median(case.walls)
        print(f"{case.name:34} {len(case.walls):4} {median:9.3f} {min(case.walls):7.3f} {max(case.walls):7.3f} "
              f"{case.rss_kib / 1024:9.1f} {median / statistics.median(results[case.baseline].walls):11.1f}")
    print("x baseline: median over the median bare start of the same runtime (python -c pass or node -e 0)")
    print(shapes)
    print(scale_summary)
    demo = statistics.median(results[NCAP_DEMO].walls)
    verdict = "meets" if demo < TARGET_SECONDS else "MISSES"
    print(f"\nlocal-demo median {demo:.3f} s on one core {verdict} the {TARGET_SECONDS} s target "
          f"(python {sys.version.split()[0]}, .pyc cached)")
    if app is not None:
        off, on = (statistics.median(results[name].walls) for name in (CDK_OFF, CDK_ON))
        verdict = "meets" if off / demo >= TARGET_RATIO else "MISSES"
        print(f"CDK / ncap, validation off (the compared pair): {off:.3f} / {demo:.3f} s = {off / demo:.1f}x, "
              f"{verdict} the {TARGET_RATIO:.0f}x target")
        print(f"CDK / ncap, validation on (CDK's default):      {on:.3f} / {demo:.3f} s = {on / demo:.1f}x")
    print(f"load average (1 min): {load_before} before, {load()} after; {os.cpu_count()} cores, all runs on one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
