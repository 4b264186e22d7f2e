"""The sam CLI as `ncap build/package/deploy` run it: the argv built from the config, the runner
that prints the command and streams its output, and what is said when sam is missing. (The real
sam CLI on the example pipelines: test_shipping.py.)"""
import sys
from pathlib import Path

import pytest

from ncap_iac.compiler import CAPABILITIES
from ncap_iac.deploy import sam
from ncap_iac.errors import DeployError, NcapError


def test_sam_argv_take_every_value_from_the_config():
    assert sam.build_argv(Path("compiled_template.json"), "eu-west-1") == [
        "sam", "build", "--template-file", "compiled_template.json", "--build-dir", ".aws-sam/build",
        "--region", "eu-west-1", "--parallel"]
    assert sam.package_argv("arts", "cis-imu", "eu-west-1") == [
        "sam", "package", "--template-file", ".aws-sam/build/template.yaml", "--s3-bucket", "arts",
        "--s3-prefix", "cis-imu", "--output-template-file", ".aws-sam/packaged.json", "--use-json",
        "--region", "eu-west-1"]
    argv = sam.deploy_argv(Path(".aws-sam/packaged.json"), "cis-imu", "eu-west-1", "arts", confirm=True)
    assert argv[:8] == ["sam", "deploy", "--template-file", ".aws-sam/packaged.json", "--stack-name", "cis-imu",
                        "--region", "eu-west-1"]
    assert argv[8:11] == ["--capabilities", *CAPABILITIES] and argv[-1] == "--confirm-changeset"
    assert "--no-resolve-s3" in argv and argv[argv.index("--s3-bucket") + 1] == "arts"
    assert sam.deploy_argv(Path("t"), "s", "r", "b", confirm=False)[-1] == "--no-confirm-changeset"


def test_the_runner_prints_the_command_and_streams_its_output(tmp_path):
    lines = []
    sam.run([sys.executable, "-c", "print('one'); print('50%\\r100%')"], tmp_path, "http://localhost:1", lines.append)
    assert lines[0].startswith("$ ") and lines[0].endswith("-c 'print('\"'\"'one'\"'\"'); print('\"'\"'50%\\r100%'\"'\"')'")
    assert lines[1:] == ["  one", "  100%"]
    with pytest.raises(DeployError, match=r"failed \(exit code 3\); its output is above"):
        sam.run([sys.executable, "-c", "raise SystemExit(3)"], tmp_path, None, lines.append)


def test_without_sam_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(sam.shutil, "which", lambda *a, **k: None)
    with pytest.raises(NcapError, match="the sam CLI is not installed: `make test` installs it"):
        sam.sam_executable()
