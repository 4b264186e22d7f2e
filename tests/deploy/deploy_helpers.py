"""Shared helpers of the tests in tests/deploy (imported by name: pytest puts this folder on
sys.path for the test modules beside it; there is no conftest.py here on purpose)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

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
