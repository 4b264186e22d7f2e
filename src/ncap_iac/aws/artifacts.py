"""Packaging function code in Python (for `ncap deploy --method changeset` and the local cloud):
each function's code folder plus its requirements installed for the Lambda runtime (what
lambda_repo/Makefile does under `sam build`), zipped reproducibly, uploaded once under its content
hash; and the template, by URL when it is over CloudFormation's 51,200-byte limit for a body."""
from __future__ import annotations

import copy
import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from ..bundle.archive import Entry, save_zip
from ..errors import DeployError, NcapError
from ..lambda_code import code_files
from .errors import aws_errors, error_code

TEMPLATE_BODY_LIMIT = 51_200
PLATFORM = "manylinux2014_x86_64"


def package_functions(template: dict, template_dir: Path, prefix: str, aws, bucket: str, say,
                      requirements: bool = True) -> dict:
    """The template with every local CodeUri replaced by the s3:// URI of its uploaded archive.
    Without `requirements`, the archives hold the code alone (the local cloud runs handlers from
    their folders; the archive only has to exist)."""
    result = copy.deepcopy(template)
    uploaded: dict[tuple, str] = {}
    for logical_id, resource in sorted(result["Resources"].items()):
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        if str(props.get("CodeUri", "")).startswith("s3://"):
            continue
        source = (template_dir / props["CodeUri"]).resolve()
        runtime = _python_version(logical_id, props.get("Runtime", ""))
        if (source, runtime) not in uploaded:
            archive = code_archive(source, runtime, say, requirements)
            uploaded[(source, runtime)] = upload_archive(aws, bucket, prefix, archive, say)
        props["CodeUri"] = uploaded[(source, runtime)]
    return result


def _python_version(logical_id: str, runtime: str) -> str:
    if not runtime.startswith("python3."):
        raise NcapError(f"{logical_id}: runtime {runtime or '(none)'}: only python3.x functions can be "
                        f"packaged by --method changeset; use --method sam")
    return runtime[len("python"):]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ncap" / "lambda"


def code_archive(source: Path, python_version: str, say, requirements: bool = True) -> Path:
    """The zip of source + its requirements for that Python, from the cache when its inputs match."""
    if not source.is_dir():
        raise NcapError(f"CodeUri {source}: no such folder")
    files = code_files(source)
    cached = cache_root() / f"{_inputs_hash(source, files, python_version if requirements else 'code')}.zip"
    if cached.exists():
        say(f"code of {source.name} for python{python_version}: unchanged, using {cached}")
        return cached
    with tempfile.TemporaryDirectory(prefix="ncap-package-") as staging:
        if requirements:
            _install_requirements(source, Path(staging), python_version, say)
        _write_zip(cached, source, files, Path(staging))
    say(f"packaged {source.name} for python{python_version}: {cached} ({cached.stat().st_size // 1024} KiB)")
    return cached


def _inputs_hash(source: Path, files: list[Path], python_version: str) -> str:
    digest = hashlib.sha256(f"{python_version}|{PLATFORM}".encode())
    for path in files:
        digest.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _install_requirements(source: Path, target: Path, python_version: str, say) -> None:
    requirements = source / "requirements.txt"
    if not requirements.is_file():
        return
    argv = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(target),
            "--python-version", python_version, "--platform", PLATFORM, "--implementation", "cp",
            "--only-binary=:all:", "-r", str(requirements)]
    say(f"$ {shlex.join(argv)}")
    done = subprocess.run(argv, capture_output=True, text=True, encoding="utf-8", errors="replace")
    if done.returncode != 0:
        raise DeployError(f"pip could not install {requirements} for python{python_version}: "
                          f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}")


def _write_zip(path: Path, source: Path, files: list[Path], installed: Path) -> None:
    """Entries sorted, fixed times: the same inputs give the same bytes (and the same S3 key)."""
    entries = {p.relative_to(installed).as_posix(): p for p in installed.rglob("*")
               if p.is_file() and p.suffix != ".pyc" and "__pycache__" not in p.parts}
    entries.update({p.relative_to(source).as_posix(): p for p in files})
    save_zip([Entry(name, file) for name, file in entries.items()], path, compress=True)


def upload_archive(aws, bucket: str, prefix: str, archive: Path, say) -> str:
    key = f"{prefix}/{hashlib.sha256(archive.read_bytes()).hexdigest()[:32]}.zip"
    if not exists(aws.s3, bucket, key):
        say(f"uploading {archive.stat().st_size // 1024} KiB to s3://{bucket}/{key}")
        aws.s3.upload_file(str(archive), bucket, key)
    else:
        say(f"s3://{bucket}/{key} is already uploaded")
    return f"s3://{bucket}/{key}"


def exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except aws_errors() as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def template_source(aws, body: str, bucket: str, prefix: str, say) -> dict:
    """TemplateBody, or TemplateURL of an uploaded copy when the body is over the limit."""
    size = len(body.encode("utf-8"))
    if size <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": body}
    key = f"{prefix}/{hashlib.sha256(body.encode('utf-8')).hexdigest()[:32]}.template.json"
    aws.s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
    say(f"template is {size} bytes (over {TEMPLATE_BODY_LIMIT}): uploaded to s3://{bucket}/{key}")
    return {"TemplateURL": f"https://{bucket}.s3.{aws.region}.amazonaws.com/{key}"}


def package_nested(template: dict, template_dir: Path, prefix: str, aws, bucket: str, say) -> dict:
    """The template with each nested stack's local TemplateURL (a path relative to the template,
    as `ncap compile` writes it) replaced by the URL of an uploaded copy, stored once under its
    content hash (what `sam package` does for them)."""
    result = copy.deepcopy(template)
    stacks = [r for r in result.get("Resources", {}).values() if r.get("Type") == "AWS::CloudFormation::Stack"]
    uploaded = skipped = 0
    for resource in stacks:
        url = str(resource["Properties"].get("TemplateURL", ""))
        if url.startswith(("https://", "http://", "s3://")):
            continue
        body = _nested_body(template_dir / url, url)
        key = f"{prefix}/{hashlib.sha256(body).hexdigest()[:32]}.template.json"
        if exists(aws.s3, bucket, key):
            skipped += 1
        else:
            aws.s3.put_object(Bucket=bucket, Key=key, Body=body)
            uploaded += 1
        resource["Properties"]["TemplateURL"] = f"https://{bucket}.s3.{aws.region}.amazonaws.com/{key}"
    if stacks:
        say(f"nested templates: uploaded {uploaded}, {skipped} already in s3://{bucket}/{prefix}/")
    return result


def _nested_body(path: Path, url: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise NcapError(f"nested template {url}: cannot read {path}: {exc.strerror}") from None
