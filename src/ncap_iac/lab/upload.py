"""`ncap lab upload`: files into the lab's inputs (or configs) folder. A file up to PART_BYTES goes
in one put; a larger one in parts, several at once, and resumably: the upload's id is kept in the
user's cache folder (owner-only), so that the same command run again after a kill, a crash or a
dropped network asks S3 which parts it has (ListParts, which lab members may call on their own
folders) and sends only the others. A file changed since (size or modification time) starts over.
Progress goes to stderr; each object's key and version id are printed."""
from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import NcapError
from .access import Lab

PART_BYTES = 8 * 1024 * 1024  # S3 allows 5 MiB to 5 GiB per part and 10,000 parts
MAX_PARTS = 10_000
PARALLEL = 10


@dataclass(frozen=True)
class Uploaded:
    path: Path
    key: str
    version: str | None
    size: int
    resumed_parts: int = 0  # parts S3 had already (an upload run again)


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "ncap" / "uploads"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def part_size(size: int) -> int:
    """PART_BYTES, or more for a file that would need more than S3's 10,000 parts."""
    return max(PART_BYTES, -(-size // MAX_PARTS))


class Progress:
    """One line on stderr per file: bytes sent of the file's size, redrawn at most 5 times a second."""

    def __init__(self, name: str, size: int, quiet: bool = False):
        self.name, self.size, self.quiet = name, size, quiet
        self.sent, self.shown = 0, 0.0
        self.lock = threading.Lock()

    def add(self, count: int) -> None:
        with self.lock:
            self.sent += count
            if not self.quiet and (time.monotonic() - self.shown > 0.2 or self.sent >= self.size):
                self.shown = time.monotonic()
                self._draw()

    def _draw(self) -> None:
        share = self.sent / self.size if self.size else 1.0
        bar = "#" * int(share * 30)
        print(f"\r{self.name[:40]:40} [{bar:30}] {share:6.1%} {self.sent / 1e6:9.1f} MB", end="", file=sys.stderr)

    def done(self) -> None:
        if not self.quiet:
            self._draw()
            print(file=sys.stderr)


def upload(lab: Lab, path: Path, key: str, quiet: bool = False) -> Uploaded:
    """Upload one file to `key`; resumes a multipart upload the same file began before."""
    try:
        stat = path.stat()
    except OSError as error:
        raise NcapError(f"{path}: cannot be read ({error.strerror or error})") from None
    if not path.is_file():
        raise NcapError(f"{path}: not a file")
    if not os.access(path, os.R_OK):
        raise NcapError(f"{path}: not readable (permission denied)")
    progress = Progress(path.name, stat.st_size, quiet)
    if stat.st_size <= PART_BYTES:
        with open(path, "rb") as body:
            reply = lab.s3.put_object(Bucket=lab.bucket, Key=key, Body=body)
        progress.add(stat.st_size)
        progress.done()
        return Uploaded(path, key, reply.get("VersionId"), stat.st_size)
    return _multipart(lab, path, key, stat, progress)


def _record_path(lab: Lab, path: Path, key: str, stat: os.stat_result) -> Path:
    endpoint = str(getattr(getattr(lab.s3, "meta", None), "endpoint_url", ""))
    ident = json.dumps([endpoint, lab.bucket, key, str(path.resolve()), stat.st_size, stat.st_mtime_ns])
    return cache_dir() / (hashlib.sha256(ident.encode()).hexdigest()[:32] + ".json")


def _multipart(lab: Lab, path: Path, key: str, stat: os.stat_result, progress: Progress) -> Uploaded:
    record = _record_path(lab, path, key, stat)
    size, step = stat.st_size, part_size(stat.st_size)
    numbers = list(range(1, -(-size // step) + 1))
    upload_id, done = _resumed(lab, key, record)
    if upload_id is None:
        upload_id = lab.s3.create_multipart_upload(Bucket=lab.bucket, Key=key)["UploadId"]
        done = {}
        _write_record(record, {"upload_id": upload_id, "key": key, "bucket": lab.bucket})
    resumed = len(done)
    progress.add(sum(min(step, size - (n - 1) * step) for n in done))
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        sent = pool.map(lambda n: (n, _part(lab, path, key, upload_id, n, step, size, progress.add)),
                        [n for n in numbers if n not in done])
        done.update(dict(sent))
    progress.done()
    reply = lab.s3.complete_multipart_upload(
        Bucket=lab.bucket, Key=key, UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": done[n]} for n in numbers]})
    record.unlink(missing_ok=True)
    return Uploaded(path, key, reply.get("VersionId"), size, resumed)


def _part(lab: Lab, path: Path, key: str, upload_id: str, number: int, step: int, size: int,
          sent: Callable[[int], None]) -> str:
    start = (number - 1) * step
    with open(path, "rb") as source:
        source.seek(start)
        body = source.read(min(step, size - start))
    etag = lab.s3.upload_part(Bucket=lab.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)["ETag"]
    sent(len(body))
    return etag


def _resumed(lab: Lab, key: str, record: Path) -> tuple[str | None, dict[int, str]]:
    """(upload id, {part number: ETag} S3 has) of an upload begun before, or (None, {})."""
    try:
        kept = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, {}
    if kept.get("key") != key or kept.get("bucket") != lab.bucket:
        return None, {}
    found: dict[int, str] = {}
    try:
        pages = lab.s3.get_paginator("list_parts").paginate(Bucket=lab.bucket, Key=key, UploadId=kept["upload_id"])
        for page in pages:
            found.update({part["PartNumber"]: part["ETag"] for part in page.get("Parts", [])})
    except Exception as error:  # the upload is gone (completed, aborted or expired): start over
        if "NoSuchUpload" not in str(getattr(error, "response", {}).get("Error", {}).get("Code", "")):
            raise
        return None, {}
    return kept["upload_id"], found


def _write_record(record: Path, document: dict) -> None:
    descriptor = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(document, out)
