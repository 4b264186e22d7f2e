"""The package as a lab installs it: the wheel is built, installed with plain `pip install` (and its
`local` extra, the emulator) into a fresh virtual environment, and used from a folder outside this
checkout: an NCAP-format config is compiled, linted, and its submit function invoked against a moto
server; `ncap init` makes a pipeline that validates, compiles, lints and runs its sample to SUCCESS
on the local cloud."""
import json
import os
import subprocess
import sys
import time
import zipfile

import boto3
import pytest

from conftest import REPO

pytestmark = pytest.mark.slow
PACKAGES = ("ncap_iac/config/", "ncap_iac/template/", "ncap_iac/aws/", "ncap_iac/emulator/", "ncap_iac/deploy/",
            "ncap_iac/local/", "ncap_iac/worker/", "ncap_iac/lambda_repo/ncap_lambda/")


def run(argv, **kwargs):
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The `ncap` command of a fresh virtual environment that has only the built wheel."""
    work = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", work / "dist", REPO])
    [wheel] = (work / "dist").glob("ncap_iac-*.whl")
    run([sys.executable, "-m", "venv", work / "venv"])
    run([work / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet", f"{wheel}[local]"])
    return wheel, work / "venv" / "bin" / "ncap"


def test_the_wheel_carries_every_package_the_lambda_code_and_the_schema(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert all(any(n.startswith(p) for n in names) for p in PACKAGES)
    for handler in ("submit_start.py", "folders.py", "users.py", "monitor.py", "requirements.txt", "Makefile"):
        assert f"ncap_iac/lambda_repo/{handler}" in names
    assert "ncap_iac/config/stack_config.schema.json" in names
    for scaffold in ("stack_config.json", "gitignore", "analysis/run.py", "image/setup.sh", "sample/notes.txt",
                     "sample/config.json"):
        assert f"ncap_iac/scaffold/files/{scaffold}" in names
    assert "ncap_iac/template/instance_boot.py" in names and "ncap_iac/bundle/agent.py" in names


def test_ncap_version_prints_the_installed_packages_version(installed):
    wheel, ncap = installed
    version = wheel.name.split("-")[1]
    assert run([ncap, "--version"]).stdout.strip() == f"ncap {version}"


def test_ncap_init_makes_a_pipeline_that_runs_its_sample_from_a_folder_of_its_own(installed, tmp_path):
    _, ncap = installed
    outside = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("AWS_")}
    outside["PATH"] = f"{ncap.parent}:{outside['PATH']}"  # as an activated venv: its python3 runs the instances
    lab = tmp_path / "lab-repo"
    lab.mkdir()
    made = run([ncap, "init", "pipelines/spikes"], cwd=lab, env=outside)
    folder = lab / "pipelines" / "spikes"
    assert "wrote" in made.stdout and (folder / ".gitignore").is_file()
    config = json.loads((folder / "stack_config.json").read_text())
    assert config["PipelineName"] == "spikes" and config["$schema"] == "./stack_config.schema.json"
    assert (folder / "stack_config.schema.json").read_text() == (REPO / "src/ncap_iac/config/stack_config.schema.json").read_text()
    for command in (["validate", "stack_config.json"], ["compile", "stack_config.json"], ["lint", "stack_config.json"]):
        done = run([ncap, *command], cwd=folder, env=outside)
        assert "warning" not in done.stderr, done.stderr
    up = subprocess.Popen([ncap, "local", "up", "."], cwd=folder, env=outside, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (folder / ".ncap" / "local" / "local.json").exists():
            assert up.poll() is None and time.monotonic() < deadline, up.stdout.read() if up.poll() else ""
            time.sleep(0.2)
        submitted = run([ncap, "local", "submit", ".", "--user", "my-lab-user", "--data", "sample/notes.txt",
                         "--config", "sample/config.json", "--wait"], cwd=folder, env=outside)
        assert " SUCCESS; results downloaded to " in submitted.stdout, submitted.stdout
        listed = run([ncap, "local", "status", "pipelines/spikes"], cwd=lab, env=outside)  # from another folder
        assert listed.stdout.splitlines()[0].startswith("job ") and " SUCCESS " in listed.stdout
    finally:
        subprocess.run([ncap, "local", "down", "."], cwd=folder, env=outside, capture_output=True, timeout=120)
        up.wait(timeout=60)
    [summary] = (folder / "ncap-results").glob("*/process_results/summary.json")
    assert json.loads(summary.read_text())["words"] == len((folder / "sample" / "notes.txt").read_text().split())


def test_an_ncap_config_compiles_lints_and_invokes_from_a_folder_of_its_own(installed, tmp_path, moto_server):
    _, ncap = installed
    folder = tmp_path / "lab-pipelines" / "dlc"
    folder.mkdir(parents=True)
    (folder / "stack_config.json").write_text((REPO / "pipelines" / "ncap-dlc" / "stack_config.json").read_text())
    outside = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    compiled = run([ncap, "compile", "stack_config.json"], cwd=folder, env=outside)
    assert "compiled_template.json" in compiled.stdout and "names NCAP's submit code" in compiled.stderr
    assert (folder / "ncap_functions" / "submit_start.py").is_file()
    linted = run([ncap, "lint", "stack_config.json"], cwd=folder, env=outside)
    assert linted.stdout.strip().endswith("0 errors and warnings, 0 notes")

    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    s3.create_bucket(Bucket="dlcmonitored1")
    s3.put_object(Bucket="dlcmonitored1", Key="carcealab2/submissions/", Body=b"")  # the lab's folder marker
    queue = sqs.create_queue(QueueName="dlcmonitored1-jobs")["QueueUrl"]
    s3.put_object(Bucket="dlcmonitored1", Key="carcealab2/inputs/mouse1.mp4", Body=b"video")
    s3.put_object(Bucket="dlcmonitored1", Key="carcealab2/configs/config.yaml", Body=b"a: 1")
    s3.put_object(Bucket="dlcmonitored1", Key="carcealab2/submissions/run1_submit.json", Body=json.dumps(
        {"dataname": "carcealab2/inputs/mouse1.mp4", "timestamp": "wheel-1"}).encode())
    event = run([ncap, "simevent", "s3-put", "--bucket", "dlcmonitored1", "--key",
                 "carcealab2/submissions/run1_submit.json"], cwd=folder, env=outside).stdout
    (folder / "event.json").write_text(event)
    invoked = run([ncap, "invoke", "SubmitFunction", "--event", "event.json", "--env-vars",
                   REPO / "simevents" / "env_dlcmonitored1.json"], cwd=folder, env=outside)
    assert json.loads(invoked.stdout)["jobs"] == ["wheel-1"]
    message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
    assert json.loads(message["Body"])["configname"] == "carcealab2/configs/config.yaml"  # NCAP's CONFIG
