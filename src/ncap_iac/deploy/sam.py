"""The sam CLI as `ncap build/package/deploy` run it: argv builders (every value from the config)
and a runner that prints the exact command, then streams its output line by line."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from ..aws.clients import ENDPOINT_VARIABLE
from ..compiler import CAPABILITIES
from ..errors import DeployError, NcapError
from .target import BUILD_DIR, PACKAGED_NAME

BUILT_TEMPLATE = BUILD_DIR / "template.yaml"


def build_argv(template: Path, region: str, parallel: bool = True) -> list[str]:
    argv = ["sam", "build", "--template-file", str(template), "--build-dir", str(BUILD_DIR), "--region", region]
    return argv + (["--parallel"] if parallel else [])


def package_argv(bucket: str, prefix: str, region: str) -> list[str]:
    return ["sam", "package", "--template-file", str(BUILT_TEMPLATE), "--s3-bucket", bucket,
            "--s3-prefix", prefix, "--output-template-file", str(PACKAGED_NAME), "--use-json",
            "--region", region]


def deploy_argv(template: Path, stack: str, region: str, bucket: str, confirm: bool,
                tags: dict | None = None, parameters: dict | None = None) -> list[str]:
    """`sam deploy` of an already packaged template. --no-resolve-s3 because the samconfig.toml
    `ncap compile` writes asks for a managed bucket, and the bucket here is given explicitly.
    `parameters`: the template's (the uploaded agent bundle and artifact bucket)."""
    tagged = ["--tags", *(f"{k}={v}" for k, v in tags.items())] if tags else []
    overrides = ["--parameter-overrides", *(f"{k}={v}" for k, v in sorted(parameters.items()))] if parameters else []
    return ["sam", "deploy", "--template-file", str(template), "--stack-name", stack, "--region", region,
            "--capabilities", *CAPABILITIES, "--s3-bucket", bucket, "--s3-prefix", stack,
            "--no-resolve-s3", "--no-fail-on-empty-changeset",
            "--confirm-changeset" if confirm else "--no-confirm-changeset", *tagged, *overrides]


def sam_executable() -> str:
    """The sam CLI: on PATH, else beside this Python (a venv used without activating it)."""
    found = shutil.which("sam") or shutil.which("sam", path=str(Path(sys.executable).parent))
    if not found:
        raise NcapError("the sam CLI is not installed: `make test` installs it into .venv "
                        "(or: pip install aws-sam-cli)")
    return found


def child_environment(endpoint: str | None) -> dict:
    """The environment sam runs in: this one, plus the endpoint, no telemetry, and this Python's
    folder first on PATH (so lambda_repo/Makefile's `python3 -m pip` is one that has pip)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["SAM_CLI_TELEMETRY"] = "0"
    if endpoint:
        env[ENDPOINT_VARIABLE] = endpoint
    return env


def run(argv: list[str], cwd: Path, endpoint: str | None, say, interactive: bool = False) -> None:
    """Print the command, run it from cwd, stream its output; DeployError if it fails."""
    say(f"$ {shlex.join(argv)}")
    command = [sam_executable(), *argv[1:]] if argv[0] == "sam" else argv
    if interactive:  # sam asks the user itself: give it the terminal
        code = subprocess.call(command, cwd=cwd, env=child_environment(endpoint))
    else:
        code = _stream(command, cwd, child_environment(endpoint), say)
    if code != 0:
        raise DeployError(f"`{' '.join(argv[:2])}` failed (exit code {code}); its output is above")


def _stream(command: list[str], cwd: Path, env: dict, say) -> int:
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    try:
        for raw in process.stdout or ():
            say(f"  {last_redraw(raw.decode('utf-8', errors='replace'))}")
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        raise


def last_redraw(line: str) -> str:
    """An upload's progress redraws one line with carriage returns: keep where it ended."""
    parts = [part for part in line.rstrip().split("\r") if part.strip()]
    return parts[-1] if parts else ""
