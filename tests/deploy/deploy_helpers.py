"""Shared helpers of the tests in tests/deploy (imported by name: pytest puts this folder on
sys.path for the test modules beside it; there is no conftest.py here on purpose)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

ARTIFACTS = "ncap-test-artifacts"
PACKAGE_CACHE = REPO / "build" / "test-cache"  # build/ is ignored by git


def pipeline_copy(root: Path, name: str, edit=None) -> Path:
    """pipelines/NAME copied under root (compiling and building write into the copy only)."""
    source = REPO / "pipelines" / name
    target = root / "pipelines" / name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(
        ".aws-sam", "compiled_template.json", "samconfig.toml", "__pycache__"))
    if edit:
        config = target / "stack_config.json"
        document = json.loads(config.read_text())
        edit(document)
        config.write_text(json.dumps(document, indent=2))
    return target


def set_affiliates(folder: Path, affiliates: list[dict]) -> None:
    config = folder / "stack_config.json"
    document = json.loads(config.read_text())
    document["UXData"]["Affiliates"] = affiliates
    config.write_text(json.dumps(document, indent=2))


def ncap(capsys, *argv) -> tuple[int, str, str]:
    """Run `ncap ARGV` in this process; (exit code, stdout, stderr)."""
    from ncap_iac.cli import main

    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


NCAP = [sys.executable, "-m", "ncap_iac.cli"]


def cli(*args, cwd=REPO, env=None) -> subprocess.CompletedProcess:
    """Run `ncap ARGS` as a real subprocess, with no terminal on stdin."""
    return subprocess.run([*NCAP, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, env=env)


def assert_clean_failure(result, message):
    assert (result.returncode, result.stdout.count("Traceback"), result.stderr.count("Traceback")) == (1, 0, 0)
    assert result.stderr.strip().splitlines()[-1] == message


def deploy(capsys, folder, *extra):
    """`ncap deploy FOLDER --method changeset --yes` in this process, to the artifact bucket."""
    return ncap(capsys, "deploy", folder, "--method", "changeset", "--s3-bucket", ARTIFACTS, "--yes", *extra)


def client(service: str):
    import boto3

    return boto3.client(service, region_name="us-east-1")


def user_names() -> list[str]:
    return sorted(u["UserName"] for u in client("iam").list_users()["Users"])


def group_names() -> list[str]:
    return sorted(g["GroupName"] for g in client("iam").list_groups()["Groups"])


def secret_names() -> list[str]:
    return sorted(s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"])


def top_folders(bucket: str) -> list[str]:
    objects = client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted({o["Key"].split("/")[0] for o in objects})


# --- fixtures shared by the test modules (imported there by name) --------------------------

@pytest.fixture
def emulator(moto_server, monkeypatch):
    """moto, plus a packaging cache kept between runs in the repository's ignored build/ folder
    (pip installs the Lambda requirements once, not in every test)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(PACKAGE_CACHE))
    return moto_server


@pytest.fixture
def demo(tmp_path, emulator, monkeypatch):
    """A copy of pipelines/local-demo under tmp_path, which is the current folder (where
    `ncap credentials` writes its files)."""
    monkeypatch.chdir(tmp_path)
    return pipeline_copy(tmp_path, "local-demo")


def translated_count(out: str) -> int:
    """How many resources the deploy or diff said the translated template has."""
    line = next(line for line in out.splitlines() if line.startswith("translated the SAM template here: "))
    return int(line.split(": ")[1].split()[0])
