"""`make demo` itself: `python -m ncap_iac.demo pipelines` from the repository root, as a process,
exactly as the Makefile runs it. It prints a table with a row per pipeline, each linted clean;
runs pipelines/local-demo and pipelines/cis-two-stage (two stages) on the local cloud (a lab user's
job ends SUCCESS, its summary is shown)
and leaves no process of its own behind."""
import importlib.util
import json
import subprocess
import sys
import threading
import time

import pytest

from conftest import EXAMPLES, REPO

sys.path.insert(0, str(REPO / "tests" / "local"))
from cloud_helpers import alive, clean_env, descendants

TIMEOUT = 180.0


def run_demo() -> tuple[subprocess.CompletedProcess, set[int]]:
    """The demo's result, and every process seen below it while it ran (sampled until it ends:
    the emulator and the workers start sessions of their own, so they are looked for by descent
    while their parents live)."""
    command = [sys.executable, "-m", "ncap_iac.demo", "pipelines"]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL, env=clean_env()) as process:
        seen: set[int] = set()
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(process.stdout.read()), daemon=True)
        errors: list[str] = []
        error_reader = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)
        reader.start()
        error_reader.start()
        deadline = time.monotonic() + TIMEOUT
        while process.poll() is None:
            seen |= descendants(process.pid)
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"the demo did not finish within {TIMEOUT:.0f} s; seen {sorted(seen)}")
            time.sleep(0.1)
        reader.join(10)
        error_reader.join(10)
    return subprocess.CompletedProcess(command, process.returncode, "".join(out), "".join(errors)), seen


def table_rows(stdout: str) -> list[dict]:
    """The rows of the printed table, by column (the dashes line gives each column's width)."""
    lines = stdout.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("pipeline  "))
    header, dashes = lines[start], lines[start + 1]
    spans, position = [], 0
    for group in dashes.split("  "):
        spans.append((position, position + len(group)))
        position += len(group) + 2
    names = [header[a:b].strip() for a, b in spans]
    rows = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        rows.append({name: line[a:b].strip() for name, (a, b) in zip(names, spans)})
    return rows


def printed_summaries(stdout: str) -> list[dict]:
    """Each summary.json the demo shows after `[demo] the analysis' result, ...:`, in order."""
    lines = stdout.splitlines()
    found = []
    for start in (n for n, line in enumerate(lines) if line.startswith("[demo] the analysis' result, ")):
        block = []
        for line in lines[start + 1:]:
            if line.startswith("[demo]"):
                break
            block.append(line)
        found.append(json.loads("\n".join(block)))
    return found


def expected_two_stage_summary(tmp_path) -> dict:
    """What pipelines/cis-two-stage's two stand-in analyses make of its sample, run here in turn."""
    pipeline = REPO / "pipelines" / "cis-two-stage"
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    env = {"NCAP_INPUT_DIR": str(pipeline / "sample"), "NCAP_OUTPUT_DIR": str(first)}
    subprocess.run([sys.executable, "analysis/preprocess.py"], cwd=pipeline, env=env, check=True, capture_output=True)
    env = {"NCAP_INPUT_PATH": str(first), "NCAP_OUTPUT_DIR": str(second)}
    subprocess.run([sys.executable, "analysis/infer.py"], cwd=pipeline, env=env, check=True, capture_output=True)
    return json.loads((second / "summary.json").read_text())


def expected_summary() -> dict:
    pipeline = REPO / "pipelines" / "local-demo"
    spec = importlib.util.spec_from_file_location("summarize", pipeline / "analysis" / "summarize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = json.loads((pipeline / "sample" / "config.json").read_text())
    return module.summarize(module.read_table(pipeline / "sample" / "trial_01.csv"), config.get("columns"),
                            int(config.get("precision", 3)))


OUTPUTS = ("pipelines/*/compiled_template.json", "pipelines/*/samconfig.toml", "pipelines/*/ncap_functions",
           ".ncap/demo", ".ncap")


@pytest.fixture
def demo_outputs_removed():
    """What the demo writes into the repository (ignored by git: the compiled templates beside each
    config, the downloaded results under .ncap/demo) is removed again when it was not there before,
    so that the rest of the suite sees the tree it would have seen."""
    import shutil

    before = {path for pattern in OUTPUTS for path in REPO.glob(pattern)}
    yield
    for path in sorted({path for pattern in OUTPUTS for path in REPO.glob(pattern)} - before, reverse=True):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@pytest.mark.slow
def test_make_demo_lints_every_pipeline_runs_a_job_and_leaves_nothing_running(demo_outputs_removed, tmp_path):
    result, seen = run_demo()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr

    rows = table_rows(result.stdout)
    names = {json.loads((REPO / "pipelines" / name / "stack_config.json").read_text())["PipelineName"]
             for name in EXAMPLES}
    assert {row["pipeline"] for row in rows} == names and len(rows) == len(EXAMPLES)
    assert [row["cfn-lint"] for row in rows] == ["clean"] * len(rows)
    assert all(int(row["resources"]) > 0 and row["trigger"] in ("submit", "fileset") for row in rows)

    assert "[demo] submitting trial_01.csv with config.json as lab user alice" in result.stdout
    assert any(" SUCCESS; results downloaded to " in line for line in result.stdout.splitlines())
    assert "[demo] submitting walk_01.mp4 and walk_01.hpf as lab user clinic-uploader" in result.stdout
    assert {row["pipeline"]: row["stages"] for row in rows}["cis-two-stage"] == "2"
    assert printed_summaries(result.stdout) == [expected_summary(), expected_two_stage_summary(tmp_path)]
    assert "stopped the local cloud" in result.stdout and "[demo] done in " in result.stdout
    assert "[demo] the same job as lab member alice runs it with `ncap lab`:" in result.stdout
    assert "summary.json" in result.stdout.split("[demo] ncap lab results", 1)[1].split("[demo]", 1)[0]
    assert "(md5 checked)" in result.stdout and "[demo] ncap lab jobs" in result.stdout

    assert seen, "the demo started a local cloud (processes below it were seen)"
    left = {pid for pid in seen if alive(pid)}
    assert left == set(), f"processes the demo started are still running: {sorted(left)}"
