"""The agent bundle: the worker, the job contract it shares with the Lambda code, and boto3 with
what it needs, for any python3 of 3.9 or later; no compiler. Installed here exactly as an
instance installs it (template/instance_boot.py's make_agent, a venv without pip), it runs."""
import json
import subprocess
import sys
import zipfile
from importlib import metadata

import pytest

from ncap_iac.bundle import agent
from ncap_iac.template import instance_boot

from conftest import find_tool, require_tool

COMPILER = ("troposphere", "cfnlint", "samtranslator", "jsonschema", "moto", "aws_sam_translator", "yaml")
NOT_THE_AGENT = ("ncap_iac/config/", "ncap_iac/template/", "ncap_iac/deploy/", "ncap_iac/local/", "ncap_iac/emulator/",
                 "ncap_iac/cost/", "ncap_iac/cli.py", "ncap_iac/compiler.py", "ncap_iac/lambda_repo/submit_start.py")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return agent.build(tmp_path_factory.mktemp("agent-cache"))


def test_the_bundle_holds_the_agent_and_boto3_but_no_compiler(bundle):
    names = zipfile.ZipFile(bundle.path).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {"ncap_iac", "boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"} <= tops
    assert not tops & set(COMPILER), tops
    assert not [n for n in names if n.startswith(NOT_THE_AGENT)]
    assert "ncap_iac/worker/agent.py" in names and "ncap_iac/lambda_repo/ncap_lambda/contract.py" in names
    services = {n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") >= 3}
    assert services == set(agent.SERVICES)
    manifest = json.loads(zipfile.ZipFile(bundle.path).read(agent.MANIFEST))
    assert manifest["python_requires"] == ">=3.9" and manifest["distributions"]["boto3"] == metadata.version("boto3")
    assert bundle.key == f"ncap/agent/{bundle.sha256}.zip"


def test_the_bundle_is_reproducible(bundle, tmp_path):
    again = agent.build(tmp_path / "another-cache")
    assert again.sha256 == bundle.sha256 and again.path.read_bytes() == bundle.path.read_bytes()


def requirement_names(distribution: str) -> set[str]:
    """The distributions `distribution` needs at run time on this Python (extras left out)."""
    from packaging.requirements import Requirement

    found = set()
    for text in metadata.requires(distribution) or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            found.add(metadata.metadata(requirement.name)["Name"].lower())
    return found


def test_the_distributions_are_boto3s_own_requirements_followed_through():
    wanted, todo = set(), ["boto3"]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(requirement_names(name))
    assert wanted == set(agent.DISTRIBUTIONS)


def test_the_bundles_own_code_runs_on_python_3_9(bundle, tmp_path):
    """vermin reads the bundle's ncap code (and the boot the user data runs) for the Python versions
    it needs: 3.9 at most, the oldest python3 the user data accepts."""
    vermin = require_tool("vermin", find_tool("vermin"))
    zipfile.ZipFile(bundle.path).extractall(tmp_path, [n for n in zipfile.ZipFile(bundle.path).namelist()
                                                       if n.startswith("ncap_iac/")])
    found = subprocess.run([vermin, "-t=3.9-", "--violations", "--no-tips", str(tmp_path / "ncap_iac"),
                            instance_boot.__file__], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr


def test_installed_as_an_instance_installs_it_the_agent_runs(bundle, tmp_path):
    """make_agent makes a venv without pip and unpacks the bundle into it: the venv's python
    imports every client the agent makes, and bin/ncap answers `worker --help`; the compiler is
    not importable there."""
    instance_boot.make_agent(str(bundle.path), str(tmp_path / "agent"))
    python, launcher = tmp_path / "agent" / "venv" / "bin" / "python", tmp_path / "agent" / "bin" / "ncap"
    clients = ("import boto3; [boto3.client(s, region_name='us-east-1') for s in "
               f"{list(agent.SERVICES)!r}]; import ncap_iac.worker.agent")
    assert subprocess.run([str(python), "-c", clients], capture_output=True, text=True, timeout=120).returncode == 0
    helped = subprocess.run([str(launcher), "worker", "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--queue-url" in helped.stdout, helped.stderr
    for module in COMPILER[:4]:
        absent = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, timeout=60)
        assert absent.returncode == 1, module
    assert sys.prefix not in subprocess.run([str(python), "-c", "import sys; print(sys.path)"],
                                            capture_output=True, text=True, timeout=60).stdout
