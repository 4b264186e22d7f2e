"""S3 transfers of one job: inputs down; outputs up, each result object written exactly once.

Outputs are put with If-None-Match: *. When the key exists already (an earlier attempt of this
job stored it before it was killed), the existing object's ETag is compared with the local file's
MD5 (the ETag of a single-part upload to an SSE-S3 bucket is its MD5): equal -> skipped; different
-> overwritten and logged. So a re-run job leaves one version of each result in a versioned bucket.
Symbolic links under the output folder are never followed (they could point anywhere on the host).
Objects go up in one put each: up to 5 GiB per file."""
from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from ..lambda_repo.ncap_lambda.contract import CONFLICT, PRECONDITION, is_error
from .aws import describe
from .log import decision

CHUNK = 1 << 20
CONFLICT_TRIES = 3


class TransferError(RuntimeError):
    """A download or upload failed: the attempt fails and the message is retried."""


class Cancelled(TransferError):
    """A download stopped because its job will not run."""


@dataclass
class Uploaded:
    stored: int = 0
    skipped: int = 0
    replaced: int = 0

    @property
    def files(self) -> int:
        return self.stored + self.skipped + self.replaced


def local_names(keys) -> list[str]:
    """A distinct local file name per key: its base name, prefixed by its position if taken."""
    names, taken = [], set()
    for index, key in enumerate(keys):
        name = key.rsplit("/", 1)[-1]
        while name in taken:
            name = f"{index}_{name}"
        taken.add(name)
        names.append(name)
    return names


def download(s3, bucket: str, key: str, path: Path, cancelled=None, version: str | None = None) -> None:
    """Download one object (its `version` when given: the one the submission pinned) to `path`;
    stops (Cancelled) between chunks once `cancelled` is set."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        reply = s3.get_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))
        with reply["Body"] as body, open(path, "wb") as out:
            for chunk in iter(lambda: body.read(CHUNK), b""):
                if cancelled is not None and cancelled.is_set():
                    raise Cancelled(f"download of {key} cancelled")
                out.write(chunk)
    except TransferError:
        raise
    except Exception as error:
        raise TransferError(f"cannot download {key}: {describe(error)}") from error


def list_keys(s3, bucket: str, prefix: str) -> list[str]:
    """Every object key under `prefix` (a folder ending in '/')."""
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
    except Exception as error:
        raise TransferError(f"cannot list {prefix}: {describe(error)}") from error


def download_folder(s3, bucket: str, prefix: str, folder: Path, cancelled=None) -> None:
    """Every object under `prefix` into `folder`, at its path below the prefix."""
    for key in list_keys(s3, bucket, prefix):
        relative = key[len(prefix):]
        parts = relative.split("/")
        if key.endswith("/") or any(part in ("", ".", "..") for part in parts):
            continue  # a folder marker, or a name that could leave the folder
        download(s3, bucket, key, folder.joinpath(*parts), cancelled)


def output_files(folder: Path) -> list[tuple[Path, str]]:
    """(path, key suffix) of every regular file under `folder`, sorted; links are skipped."""
    found = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            if path.is_symlink() or not path.is_file():
                decision("output-skipped", logging.WARNING, file=str(path.relative_to(folder)),
                         why="not a regular file (links are not followed)")
                continue
            found.append((path, path.relative_to(folder).as_posix()))
    return sorted(found, key=lambda item: item[1])


def upload_outputs(s3, bucket: str, resultpath: str, folder: Path) -> Uploaded:
    uploaded = Uploaded()
    for path, suffix in output_files(folder):
        try:
            outcome = upload_once(s3, bucket, resultpath + suffix, path)
        except Exception as error:
            raise TransferError(f"cannot upload {resultpath + suffix}: {describe(error)}") from error
        setattr(uploaded, outcome, getattr(uploaded, outcome) + 1)
    return uploaded


def upload_once(s3, bucket: str, key: str, path: Path) -> str:
    """"stored", "skipped" (the same bytes are there already) or "replaced"."""
    for _ in range(CONFLICT_TRIES):
        try:
            put_file(s3, bucket, key, path, IfNoneMatch="*")
            return "stored"
        except Exception as error:
            if is_error(error, *CONFLICT):
                continue  # a concurrent conditional write to this key: try again
            if not is_error(error, *PRECONDITION):
                raise
        if stored_etag(s3, bucket, key) == file_md5(path):
            return "skipped"
        put_file(s3, bucket, key, path)
        decision("result-replaced", logging.WARNING, bucket=bucket, key=key,
                 why="an earlier attempt stored different bytes under this key")
        return "replaced"
    raise RuntimeError(f"conditional writes to {key} kept conflicting")


def put_file(s3, bucket: str, key: str, path: Path, **condition) -> None:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    with open(path, "rb") as body:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **condition)


def upload_log(s3, bucket: str, key: str, path: Path) -> None:
    try:
        with open(path, "rb") as body:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/plain; charset=utf-8")
    except Exception as error:
        raise TransferError(f"cannot upload the log {key}: {describe(error)}") from error


def stored_etag(s3, bucket: str, key: str) -> str:
    return s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
