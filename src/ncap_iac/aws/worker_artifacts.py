"""What the workers' instances install at boot, uploaded to the artifact bucket before the stack is
made or updated (by `ncap package`/`deploy` and the local cloud): the agent bundle and each stage's
analysis code, each once under the SHA-256 of its bytes. The template names them through its
ArtifactBucket and AgentBundle parameters (the code's keys it names itself: the compiler knows
them from the files)."""
from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from .. import names
from ..bundle import agent
from ..bundle.code import code_key, save_code
from .artifacts import exists


def upload_worker_artifacts(aws, bucket: str, folders: Iterable[tuple[Path, str]], say) -> dict[str, str]:
    """Upload the agent bundle and the (folder, name inside the archive) folders (analysis code,
    image test samples); the template's parameter values that name them."""
    bundle = agent.build()
    _upload(aws, bucket, bundle.key, bundle.path, "the worker agent bundle", say)
    with tempfile.TemporaryDirectory(prefix="ncap-code-") as scratch:
        for folder, under in sorted(set(folders)):
            archive = Path(scratch) / "code.zip"
            key = code_key(save_code(folder, under, archive))
            _upload(aws, bucket, key, archive, f"the folder {folder.name}/", say)
    return {names.ARTIFACT_BUCKET_PARAMETER: bucket, names.AGENT_BUNDLE_PARAMETER: bundle.key}


def _upload(aws, bucket: str, key: str, path: Path, what: str, say) -> None:
    if exists(aws.s3, bucket, key):
        say(f"{what}: s3://{bucket}/{key} is already uploaded")
        return
    aws.s3.upload_file(str(path), bucket, key)
    say(f"{what}: uploaded {path.stat().st_size // 1024} KiB to s3://{bucket}/{key}")


def as_stack_parameters(values: dict[str, str]) -> list[dict[str, str]]:
    """CloudFormation's Parameters list (CreateStack, CreateChangeSet)."""
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]


def as_overrides(values: dict[str, str]) -> list[str]:
    """`sam deploy --parameter-overrides` values."""
    return [f"{k}={v}" for k, v in sorted(values.items())]
