"""The user data of every golden template, read and run: a shell script EC2 runs as root at each
instance's first boot, which must start the worker agent (an empty agent command once went
unnoticed in every golden). Here it runs for real with bash: on a moto server as its S3, SQS and
the rest, with the local cloud's metadata service stand-in (local/metadata.py) as the instance's,
and stand-ins for useradd and the firewall tools (the real ones would change this machine; there
is no EC2 instance here). shellcheck reads each script as written."""
import json
import os
import re
import shlex
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ncap_iac import names
from ncap_iac.local.instances import AGENT_TIMINGS, write_stand_ins
from ncap_iac.local.metadata import Instance, MetadataService
from ncap_iac.template.user_data import USER_DATA_LIMIT

from conftest import compiled_goldens, find_tool, require_tool

TEMPLATES = compiled_goldens()
ACCOUNT, REGION = "123456789012", "us-east-1"
ARTIFACTS = "ncap-test-artifacts"


def launch_templates(compiled) -> dict[str, str]:
    """Each launch template's user data text (before Fn::Sub), by logical id."""
    return {logical_id: r["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"][0]
            for logical_id, r in compiled.template["Resources"].items() if r["Type"] == "AWS::EC2::LaunchTemplate"}


SCRIPTS = {f"{name}:{logical_id}": text for name, compiled in TEMPLATES.items()
           for logical_id, text in launch_templates(compiled).items()}


def render(text: str, values: dict) -> str:
    """Fn::Sub as CloudFormation applies it: ${Name} from `values`, ${!Literal} as ${Literal}."""
    def named(match):
        return values[match.group(1)]
    return re.sub(r"\$\{(?!!)([^}]+)\}", named, text).replace("${!", "${")


def agent_argv(script: str) -> list[str]:
    line = next(line for line in script.splitlines() if line.startswith("exec "))
    return shlex.split(line.removeprefix("exec "))


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_every_user_data_starts_a_named_agent_command(name):
    argv = agent_argv(SCRIPTS[name])
    assert argv[0] and argv[0] == "ncap" and argv[1] == "worker", argv
    assert argv[argv.index("--run-as") + 1] == "ncap-job"


def test_an_empty_agent_command_is_found():
    assert agent_argv("#!/bin/bash\nexec '' worker --queue-url q\n")[0] == ""


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_every_user_data_fits_ec2s_limit(name):
    rendered = render(SCRIPTS[name], placeholder_values())
    assert len(rendered.encode()) <= USER_DATA_LIMIT


def placeholder_values(**given) -> dict:
    values = {"AWS::Region": REGION, "AWS::Partition": "aws", "AWS::AccountId": ACCOUNT,
              "JobQueue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/jobs",
              "NextQueue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/next",
              "OnDemandQueue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/on-demand",
              "Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic", "JobRoles": f"arn:aws:iam::{ACCOUNT}:role/ncap/p/jobs/",
              names.ARTIFACT_BUCKET_PARAMETER: ARTIFACTS, names.AGENT_BUNDLE_PARAMETER: "ncap/agent/" + "0" * 64 + ".zip"}
    return {**values, **given}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_shellcheck_finds_nothing_in_the_user_data(name, tmp_path):
    shellcheck = require_tool("shellcheck", find_tool("shellcheck"), "`make test` installs Debian's shellcheck")
    script = tmp_path / "user-data"
    script.write_text(render(SCRIPTS[name], placeholder_values()))
    found = subprocess.run([shellcheck, "--severity=style", str(script)], capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stdout


# --- run for real ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def instance_world(moto_endpoint, tmp_path_factory):
    """A moto server holding an artifact bucket with the agent bundle and every golden's analysis
    code, a queue of each kind and a topic; the metadata service stand-in; the stand-in tools."""
    import boto3

    from ncap_iac.aws.clients import Aws
    from ncap_iac.aws.worker_artifacts import upload_worker_artifacts

    urllib_reset(moto_endpoint)
    aws = Aws(REGION, moto_endpoint, ("testing", "testing"))
    aws.s3.create_bucket(Bucket=ARTIFACTS)
    folders = {f for compiled in TEMPLATES.values() for f in compiled.config.artifact_folders}
    parameters = upload_worker_artifacts(aws, ARTIFACTS, folders, say=lambda line: None)
    queues = {}
    for region in sorted({compiled.config.region for compiled in TEMPLATES.values()}):
        sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name=region, aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        queues[region, False] = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        queues[region, True] = sqs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    metadata = MetadataService(REGION, ACCOUNT)
    folder = tmp_path_factory.mktemp("instances")
    yield {"endpoint": moto_endpoint, "parameters": parameters, "queues": queues, "metadata": metadata,
           "stand_ins": write_stand_ins(folder), "folder": folder}
    metadata.stop()


def urllib_reset(endpoint: str) -> None:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).read()


def boot(world, script_text: str, instance_id: str, root: Path, path: str | None = None) -> subprocess.Popen:
    keys = {"AccessKeyId": "testing", "SecretAccessKey": "testing", "SessionToken": "testing",
            "Expiration": datetime(2999, 1, 1, tzinfo=UTC)}
    world["metadata"].add(Instance(instance_id, "t3.micro", "worker-role", lambda: keys, lambda: "InService"))
    script = root.parent / f"{instance_id}.sh"
    script.write_text(script_text)
    script.chmod(0o700)
    env = {"PATH": path or f"{world['stand_ins']}:{os.environ['PATH']}", "HOME": str(root.parent),
           "NCAP_ROOT": str(root), "AWS_ENDPOINT_URL": world["endpoint"], "NCAP_LOCAL_CLOUD": "1",
           "NCAP_BOOT_SCRIPTS": str(root.parent / "per-boot"),
           "AWS_EC2_METADATA_SERVICE_ENDPOINT": world["metadata"].endpoint(instance_id), **AGENT_TIMINGS}
    log = (root.parent / f"{instance_id}.log").open("wb")
    return subprocess.Popen([str(script)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def switch_off(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_started(process: subprocess.Popen, log: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if '"decision": "started"' in text:
            return text
        if process.poll() is not None:
            pytest.fail(f"the user data ended (code {process.returncode}) before the agent started:\n{text}")
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"no agent started within {timeout} s:\n{log.read_text(errors='replace')}")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_the_user_data_boots_and_starts_the_agent_from_the_artifact_bucket(name, instance_world, tmp_path):
    """The whole script, as EC2 runs it: it fences the jobs' user (stand-ins record the calls),
    installs the agent bundle and the analysis from the bucket, and starts the agent, which reads
    its queue. (How an agent in its group stops is the local cloud's tests' business: here there is
    no group, so the instance is simply switched off.)"""
    world, template = instance_world, name.split(":")[0]
    config = TEMPLATES[template].config
    queue = world["queues"][config.region, config.queue.fifo]
    values = placeholder_values(JobQueue=queue, NextQueue=queue, OnDemandQueue=queue, **world["parameters"])
    root = tmp_path / "root"
    process = boot(world, render(SCRIPTS[name], values), "i-0abc", root)
    try:
        text = wait_started(process, tmp_path / "i-0abc.log")
    finally:
        switch_off(process)
    assert "ncap local: stand-in: iptables -I OUTPUT -d 169.254.169.254 -m owner --uid-owner ncap-job -j REJECT" in text
    bundle = world["parameters"][names.AGENT_BUNDLE_PARAMETER]
    agent = root / "agent" / Path(bundle).stem
    assert (agent / "bin" / "ncap").is_file() and f"agent {Path(bundle).stem[:12]} installed from s3://" in text
    started = json.loads(next(line for line in text.splitlines() if '"decision": "started"' in line))
    assert started["queue_url"] == values["JobQueue"]
    assert (root / "code").is_dir() == any(stage.workers.code for stage in TEMPLATES[template].config.worker_stages)


@pytest.mark.slow
def test_a_cached_agent_and_code_are_not_downloaded_again(instance_world, tmp_path):
    """A second boot on the same root (an image that carries /opt/ncap) installs nothing."""
    world = instance_world
    text = SCRIPTS["pipeline-local-demo:WorkerLaunchTemplate"]
    values = placeholder_values(JobQueue=world["queues"][REGION, False], **world["parameters"])
    root = tmp_path / "root"
    for instance in ("i-first", "i-second"):
        process = boot(world, render(text, values), instance, root)
        try:
            wait_started(process, tmp_path / f"{instance}.log")
        finally:
            switch_off(process)
    second = (tmp_path / "i-second.log").read_text()
    assert "installed from" not in second and second.count("is on this image already") == 2


@pytest.mark.slow
def test_with_a_warm_pool_every_boot_fences_the_job_user_and_starts_the_agent(instance_world, tmp_path):
    """An instance of a warm pool is stopped after its first boot and started again later, and EC2
    runs user data at the first boot only: the script puts itself among cloud-init's per-boot
    scripts, and that copy, run at the next boot, fences the jobs' user again (firewall rules do not
    survive a stop) and starts the agent, installing nothing twice."""
    world = instance_world
    text = SCRIPTS["fixture-spot-types-warm-pool:OnDemandWorkerLaunchTemplate"]
    values = placeholder_values(OnDemandQueue=world["queues"][REGION, False], **world["parameters"])
    root = tmp_path / "root"
    process = boot(world, render(text, values), "i-warm", root)
    try:
        wait_started(process, tmp_path / "i-warm.log")
    finally:
        switch_off(process)
    copy = tmp_path / "per-boot" / "ncap-worker"
    assert copy.read_text() == render(text, values) and copy.stat().st_mode & 0o777 == 0o700
    again = boot(world, copy.read_text(), "i-warm-again", root)  # the next boot: cloud-init runs the copy
    try:
        second = wait_started(again, tmp_path / "i-warm-again.log")
    finally:
        switch_off(again)
    assert "stand-in: iptables -I OUTPUT -d 169.254.169.254" in second and "installed from" not in second
    started = json.loads(next(line for line in second.splitlines() if '"decision": "started"' in line))
    assert started["queue_url"] == values["OnDemandQueue"]


def test_without_a_warm_pool_the_user_data_leaves_the_per_boot_scripts_alone():
    for name, text in SCRIPTS.items():
        has_pool = name.startswith("fixture-spot-types-warm-pool:OnDemand")
        assert ("per-boot" in text) == has_pool, name


def test_without_python3_the_instance_says_so_and_starts_no_agent(instance_world, tmp_path):
    world = instance_world
    values = placeholder_values(JobQueue=world["queues"][REGION, False], **world["parameters"])
    bare = tmp_path / "bin"
    bare.mkdir()
    process = boot(world, render(SCRIPTS["pipeline-local-demo:WorkerLaunchTemplate"], values), "i-bare",
                   tmp_path / "root", path=str(bare))
    assert process.wait(timeout=60) == 1
    text = (tmp_path / "i-bare.log").read_text()
    assert text.strip() == "ncap: this image has no python3 of version 3.9 or later: the worker agent cannot start"
    assert not (tmp_path / "root").exists()
