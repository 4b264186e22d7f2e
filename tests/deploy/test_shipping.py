"""The real sam CLI, as `ncap build/package/deploy` run it, on every example pipeline: one build per
pipeline for the module (each build pip-installs the Lambda requirements for every function),
`sam package` into a moto S3 bucket, and the README's walkthrough to a local emulator, command by
command, exactly as documented."""
import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import EXAMPLES, REPO, find_tool, require_tool
from deploy_helpers import pipeline_copy, translated_count

VENV_BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow
BUCKET = "ncap-artifacts"


def functions(folder: Path) -> list[str]:
    """The functions of the template `ncap build` compiled into `folder`."""
    resources = json.loads((folder / "compiled_template.json").read_text())["Resources"]
    return sorted(k for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function")


def run(argv: list[str], cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def aws_env(endpoint: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               XDG_CACHE_HOME=str(REPO / "build" / "test-cache"))
    return env


@pytest.fixture(scope="module", autouse=True)
def sam_cli():
    """Every test here runs the real sam CLI: skipped without it, failed without it under CI."""
    return require_tool("the sam CLI", find_tool("sam"))


@pytest.fixture(scope="module")
def workspace(sam_cli, tmp_path_factory):
    """A folder laid out like a clone (pipelines/NAME, .venv), every example built once."""
    root = tmp_path_factory.mktemp("clone")
    (root / ".venv").symlink_to(VENV_BIN.parent)
    builds = {}
    for name in EXAMPLES:
        pipeline_copy(root, name)
        builds[name] = run([".venv/bin/ncap", "build", f"pipelines/{name}"], root)
    return root, builds


@pytest.mark.parametrize("name", EXAMPLES)
def test_ncap_build_runs_sam_build_with_the_lambda_requirements(workspace, name):
    root, builds = workspace
    result = builds[name]
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("$ sam build --template-file compiled_template.json --build-dir .aws-sam/build "
            "--region us-east-1 --parallel") in result.stdout
    assert "  Build Succeeded" in result.stdout
    build = root / "pipelines" / name / ".aws-sam" / "build"
    with_users = "Access" not in json.loads((root / "pipelines" / name / "stack_config.json").read_text())
    assert ("UsersFunction" in functions(root / "pipelines" / name)) is with_users  # no IAM users with a directory
    for function in functions(root / "pipelines" / name):
        assert (build / function / "submit_start.py").is_file()
        assert (build / function / "boto3" / "__init__.py").is_file(), "requirements not installed"


@pytest.mark.parametrize("name", [n for n in EXAMPLES if n != "local-demo"])  # local-demo: the README test
def test_ncap_package_uploads_the_built_code_to_the_bucket(workspace, moto_server, name):
    root, _ = workspace
    result = run([".venv/bin/ncap", "package", f"pipelines/{name}", "--s3-bucket", BUCKET, "--skip-build"],
                 root, aws_env(moto_server))
    assert result.returncode == 0, result.stdout + result.stderr
    assert_packaged(root / "pipelines" / name, result.stdout, moto_server)


def assert_packaged(folder: Path, stdout: str, endpoint: str) -> None:
    import boto3

    stack = json.loads((folder / "stack_config.json").read_text())["PipelineName"]
    assert (f"$ sam package --template-file .aws-sam/build/template.yaml --s3-bucket {BUCKET} --s3-prefix "
            f"{stack} --output-template-file .aws-sam/packaged.json --use-json --region us-east-1") in stdout
    packaged = json.loads((folder / ".aws-sam" / "packaged.json").read_text())
    uris = [r["Properties"]["CodeUri"] for r in packaged["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function"]
    assert len(uris) == len(functions(folder)) and all(u.startswith(f"s3://{BUCKET}/{stack}/") for u in uris), uris
    nested = [r["Properties"]["TemplateURL"] for r in packaged["Resources"].values()
              if r["Type"] == "AWS::CloudFormation::Stack"]
    labs = len(json.loads((folder / "stack_config.json").read_text())["UXData"]["Affiliates"])
    assert len(nested) in (0, labs) and all(f"/{BUCKET}/{stack}/" in url for url in nested), nested  # uploaded
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {u.split("/", 3)[3] for u in uris} <= keys


def readme_walkthrough() -> list[str]:
    """The command lines of the first code block of the platform engineer's guide's Shipping
    section (docs/platform-engineer.md)."""
    section = (REPO / "docs" / "platform-engineer.md").read_text().split("## Shipping", 1)[1]
    block = section.split("```", 2)[1]
    return [line for line in block.strip().splitlines() if line.strip()]


@pytest.fixture
def readme_emulator(workspace, tmp_path):
    """The emulator the README starts, on a port of its own choosing instead of 5000: the
    emulator process binds port 0 and writes the port it got (no probe-then-bind race)."""
    root, _ = workspace
    start = readme_walkthrough()[0]
    assert start.startswith(".venv/bin/python -m ncap_iac.emulator.server --port 5000 &")
    port_file = tmp_path / "emulator.port"
    process = subprocess.Popen([sys.executable, "-m", "ncap_iac.emulator.server", "--port-file", str(port_file)],
                               cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        yield _wait_for(process, port_file)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(process: subprocess.Popen, port_file: Path, timeout: float = 60.0) -> str:
    """http://localhost:PORT once the emulator wrote its port and answers there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if port_file.exists():
            endpoint = f"http://localhost:{int(port_file.read_text())}"
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2) as answer:
                    if answer.status == 200:
                        return endpoint
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.05)
    raise AssertionError(f"the emulator did not start (exit code {process.poll()})")


def _credentials_file(path: Path):
    """A botocore session reading only this credentials file (none of this process's keys)."""
    import botocore.session

    session = botocore.session.Session()
    session.set_config_variable("credentials_file", str(path))
    session.set_config_variable("region", "us-east-1")
    return session


def test_the_readme_walkthrough_deploys_on_a_local_emulator(workspace, readme_emulator, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    root, builds = workspace
    lines = readme_walkthrough()
    exported = dict(re.findall(r"(\w+)=(\S+)", lines[1]))
    assert lines[1].startswith("export ") and exported["AWS_ENDPOINT_URL"] == "http://localhost:5000"
    env = {**aws_env(readme_emulator), **{k: v for k, v in exported.items() if k != "AWS_ENDPOINT_URL"}}
    outputs = []
    for line in lines[2:]:
        argv = shlex.split(line, comments=True)
        if argv[1] == "build":  # the module fixture ran this very command; its output is checked above
            assert builds["local-demo"].returncode == 0 and argv == [".venv/bin/ncap", "build", "pipelines/local-demo"]
            continue
        result = run(argv, root, env)
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stdout + result.stderr
        outputs.append((argv[1], result.stdout))
        if argv[1] == "credentials":  # the pipeline the walkthrough made takes a lab user's upload
            import boto3

            lab_user = boto3.Session(profile_name="ncap-local-demo-alice", botocore_session=_credentials_file(
                root / "ncap-local-demo-alice.credentials")).client("s3", endpoint_url=readme_emulator)
            lab_user.put_object(Bucket="ncap-local-demo", Key="lab-a/inputs/walkthrough.csv", Body=b"a\n1\n")
    said = dict(outputs[:4])
    assert f"{translated_count(said['diff'])} to add" in said["diff"] and "deploy of ncap-local-demo: CREATE_COMPLETE" in said["deploy"]
    assert oct((root / "ncap-local-demo-alice.credentials").stat().st_mode & 0o777) == "0o600"
    assert "DELETE_COMPLETE" in said["delete"]
    package, deploy, delete = (out for _, out in outputs[4:])
    assert_packaged(root / "pipelines" / "local-demo", package, readme_emulator)
    assert "$ sam deploy --template-file .aws-sam/translated.json --stack-name ncap-local-demo" in deploy
    assert "Successfully created/updated stack - ncap-local-demo" in deploy
    assert "AffiliateFolders Create, MembersLabA Create, MembersLabB Create, PipelineUsers Create" in deploy
    assert "delete of ncap-local-demo: DELETE_COMPLETE" in delete
