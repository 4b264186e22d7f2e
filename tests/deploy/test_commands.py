"""The shipping subcommands as users meet them: help that explains, one-line errors for mistakes,
the sam argv built from the config, and `ncap changed` on a real git history."""
import subprocess
import sys
from pathlib import Path

import pytest

from ncap_iac.compiler import CAPABILITIES
from ncap_iac.deploy import sam
from ncap_iac.deploy.changed import changes_since
from ncap_iac.errors import DeployError, NcapError

from conftest import REPO
from deploy_helpers import pipeline_copy

NCAP = [sys.executable, "-m", "ncap_iac.cli"]
COMMANDS = ["build", "package", "deploy", "diff", "delete", "credentials", "changed"]


def ncap(*args, cwd=REPO, env=None):
    return subprocess.run([*NCAP, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, env=env)


def assert_clean_failure(result, message):
    assert (result.returncode, result.stdout.count("Traceback"), result.stderr.count("Traceback")) == (1, 0, 0)
    assert result.stderr.strip().splitlines()[-1] == message


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command):
    result = ncap(command, "--help")
    assert result.returncode == 0
    assert len(result.stdout.split("options:")[0].split("\n\n", 1)[1]) > 120, result.stdout


def test_a_folder_without_a_config_is_a_clean_error(tmp_path):
    assert_clean_failure(ncap("build", tmp_path), f"{tmp_path}: not a pipeline folder: it has no stack_config.json")
    assert_clean_failure(ncap("deploy", tmp_path / "nope", "--yes"),
                         f"{tmp_path / 'nope'}: no such folder (expected a pipeline folder holding stack_config.json)")


def test_packaging_without_an_artifact_bucket_needs_the_account_for_the_default_one(tmp_path):
    import os

    folder = pipeline_copy(tmp_path, "local-demo")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_MAX_ATTEMPTS": "1"}
    assert_clean_failure(ncap("package", folder, "--endpoint-url", "http://localhost:9", env=env),
                         "finding the default artifact bucket (it is named after the account): cannot reach "
                         "http://localhost:9/: is it running, and is the address right?")


def test_the_artifact_bucket_comes_from_the_flag_then_the_config_then_the_default(tmp_path, moto_server):
    from ncap_iac.deploy.changeset import prepare
    from ncap_iac.deploy.options import ShipOptions, TargetOptions

    folder = pipeline_copy(tmp_path, "local-demo", edit=lambda d: d.update(Deploy={"ArtifactBucket": "lab-artifacts"}))
    assert prepare(ShipOptions(folder), print).bucket == "lab-artifacts"
    assert prepare(ShipOptions(folder, TargetOptions(s3_bucket="other")), print).bucket == "other"
    plain = pipeline_copy(tmp_path / "plain", "local-demo")
    assert prepare(ShipOptions(plain), print).bucket == "ncap-artifacts-123456789012-us-east-1"


def test_deploy_without_a_terminal_needs_yes_before_doing_anything(tmp_path):
    folder = pipeline_copy(tmp_path, "local-demo")
    result = ncap("deploy", folder, "--s3-bucket", "b", "--endpoint-url", "http://localhost:9")
    assert_clean_failure(result, "ncap deploy asks for confirmation, but there is no terminal to ask on: "
                                 "pass --yes to go ahead without asking")
    assert not (folder / "compiled_template.json").exists()


def test_missing_credentials_and_an_unreachable_endpoint_are_clean_errors(tmp_path):
    import os

    folder = pipeline_copy(tmp_path, "local-demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    result = ncap("credentials", folder, "--endpoint-url", "http://localhost:9", env=env)
    assert_clean_failure(result, "cannot read stack ncap-local-demo: no AWS credentials found (set AWS_PROFILE, or "
                                 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in CI assume a role through OIDC)")
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_MAX_ATTEMPTS="1")
    result = ncap("credentials", folder, "--endpoint-url", "http://localhost:9", env=env)
    assert_clean_failure(result, "cannot read stack ncap-local-demo: cannot reach http://localhost:9/: is it running, "
                                 "and is the address right?")


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


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@e", "PATH": "/usr/bin:/bin", "HOME": str(root)})


@pytest.fixture
def repository(tmp_path):
    for path in ["pipelines/a/stack_config.json", "pipelines/b/stack_config.json", "pipelines/c/stack_config.json",
                 "lambda_repo/submit_start.py", "README.md"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("{}\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "start")
    git(tmp_path, "checkout", "-q", "-b", "change")
    return tmp_path


def commit(root, edits):
    for path, text in edits.items():
        if text is None:
            (root / path).unlink()
        else:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "edit")


def test_changed_lists_the_pipelines_whose_folder_changed(repository):
    commit(repository, {"pipelines/b/stack_config.json": '{"x": 1}\n', "pipelines/b/analysis.py": "", "README.md": "x"})
    changes = changes_since("main", "pipelines", repository)
    assert (changes.pipelines, changes.shared, changes.removed) == (["pipelines/b"], [], [])


def test_shared_code_changes_every_pipeline_and_removed_ones_are_named(repository):
    commit(repository, {"lambda_repo/submit_start.py": "# new\n", "pipelines/c/stack_config.json": None})
    changes = changes_since("main", "pipelines", repository)
    assert changes.pipelines == ["pipelines/a", "pipelines/b"]
    assert (changes.shared, changes.removed) == (["lambda_repo/submit_start.py"], ["pipelines/c"])


def test_ncap_changed_prints_one_folder_per_line_and_explains_on_stderr(repository):
    commit(repository, {"pipelines/a/stack_config.json": '{"y": 2}\n'})
    result = ncap("changed", "--base", "main", cwd=repository)
    assert (result.returncode, result.stdout) == (0, "pipelines/a\n")
    assert result.stderr == "1 pipeline(s) to ship since main: their folders changed\n"
    assert_clean_failure(ncap("changed", "--base", "no-such-ref", cwd=repository),
                         "no-such-ref: no such commit here (a CI checkout needs the history: fetch-depth 0)")
