"""A lab member's jobs, through the job contract's files in the lab's folders: a submission
written for them (pinned to the versions of the datasets and config it names), the jobs of the
lab, a job's status, its log while it grows, a cancel request, and its results, each checked."""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import NcapError
from ..lambda_repo.ncap_lambda import contract
from .access import Lab

MISSING = ("404", "NoSuchKey", "NotFound")


def _missing(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    code = str((response.get("Error") or {}).get("Code", ""))
    status = str((response.get("ResponseMetadata") or {}).get("HTTPStatusCode", ""))
    return code in MISSING or status == "404"


def _denied_as_missing(lab: Lab, error: Exception, key: str) -> bool:
    """S3 answers AccessDenied, not NoSuchKey, for a key that does not exist when the caller may
    not list the whole bucket (a lab may list only its own folders): listing the key tells."""
    code = str(((getattr(error, "response", None) or {}).get("Error") or {}).get("Code", ""))
    if code != "AccessDenied":
        return False
    listed = lab.s3.list_objects_v2(Bucket=lab.bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    return not any(item["Key"] == key for item in listed)


def new_job_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def in_lab(lab: Lab, key: str, folder: str) -> str:
    """`key` as given, or a bare file name placed in the lab's `folder`."""
    return key if "/" in key else f"{lab.lab}/{folder}/{key}"


def submit(lab: Lab, data: list[str], config: str | None, job_id: str | None = None) -> tuple[str, str]:
    """Write the submit.json of a job of `data` with `config`, pinned to their current versions;
    (job id, its submit key)."""
    job_id = job_id or new_job_id()
    if not contract_job_id(job_id):
        raise NcapError(f"--job-id: {job_id!r} is not a job id (letters, digits, '.', '_' and '-'; at most 64)")
    datanames = [in_lab(lab, key, lab.folders.inputs) for key in data]
    configname = in_lab(lab, config, lab.folders.configs) if config else None
    versions = {key: _version(lab, key) for key in [*datanames, *([configname] if configname else [])]}
    document = {"dataname": datanames[0] if len(datanames) == 1 else datanames, "timestamp": job_id,
                **({"configname": configname} if configname else {}),
                **({"versions": {k: v for k, v in versions.items() if v}} if any(versions.values()) else {})}
    key = f"{lab.lab}/{lab.folders.submissions}/{job_id}_submit.json"
    lab.s3.put_object(Bucket=lab.bucket, Key=key, Body=json.dumps(document, indent=1).encode(),
                      ContentType="application/json")
    return job_id, key


def contract_job_id(text: str) -> bool:
    import re

    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", text) is not None


def _version(lab: Lab, key: str) -> str | None:
    """The current version of `key` (None in a bucket without versioning); refused when absent."""
    try:
        head = lab.s3.head_object(Bucket=lab.bucket, Key=key)
    except Exception as error:
        if _missing(error):
            raise NcapError(f"not found: s3://{lab.bucket}/{key} (upload it first: ncap lab upload)") from None
        raise
    version = head.get("VersionId")
    return None if version in (None, "null") else version


def spend(lab: Lab, month: str) -> dict:
    """The lab's spend in `month` (YYYY-MM) from the pipeline's ledger, summed by the rules of `ncap
    cost report`: {"month", "lab", "spent_usd", "jobs", "budget_usd" (absent: not known; None: no
    budget), "left_usd", "unreadable"}."""
    from ..lambda_repo.ncap_lambda.ledger import entry_cost, month_entries

    try:
        entries, unreadable = month_entries(lab.s3, lab.bucket, lab.lab, month)
    except Exception as error:
        if "AccessDenied" in str(error) or "403" in str(error):
            raise NcapError(f"{lab.bucket} does not let lab {lab.lab} read its spend (its ledger): its operators "
                            "can (ncap cost report), or deploy it with a directory's sign-in") from None
        raise
    spent = sum(entry_cost(entry) or 0.0 for entry in entries)
    found = {"month": month, "lab": lab.lab, "spent_usd": round(spent, 6),
             "jobs": len({e.get("job_id") for e in entries if e.get("job_id")}), "unreadable": len(unreadable)}
    if "budget_usd" in lab.budget:
        budget = lab.budget["budget_usd"]
        found["budget_usd"] = budget
        found["left_usd"] = round(budget - spent, 6) if isinstance(budget, (int, float)) else None
    return found


def capacity_lines(document: dict) -> list[str]:
    """A line per dataset that Spot interrupted or that ran on a known capacity: how often it was
    interrupted, and where its latest attempt ran ("  x.csv: interrupted 2 times; on-demand g4dn.xlarge")."""
    lines = []
    for name, entry in sorted((document.get("datasets") or {}).items()):
        if not isinstance(entry, dict):
            continue
        parts = []
        count = entry.get("interruptions")
        if isinstance(count, int) and count > 0:
            parts.append(f"interrupted {count} time{'s' if count > 1 else ''}")
        if isinstance(entry.get("capacity"), str):
            parts.append(" ".join(str(p) for p in (entry["capacity"], entry.get("instance_type")) if p))
        if parts:
            lines.append(f"  {name}: {'; '.join(parts)}")
    return lines


def status(lab: Lab, job_id: str) -> dict:
    try:
        reply = lab.s3.get_object(Bucket=lab.bucket, Key=lab.status_key(job_id))
    except Exception as error:
        if _missing(error) or _denied_as_missing(lab, error, lab.status_key(job_id)):
            raise NcapError(f"no job {job_id} in lab {lab.lab} of {lab.bucket} (yet: a job's status appears "
                            "within seconds of its submission)") from None
        raise
    with reply["Body"] as body:
        return contract.decoded(body.read())


def jobs(lab: Lab) -> list[dict]:
    """The lab's jobs, newest first: their status documents (with `job_id`)."""
    prefix = f"{lab.lab}/{lab.folders.results}/"
    found = []
    for page in lab.s3.get_paginator("list_objects_v2").paginate(Bucket=lab.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            parts = item["Key"][len(prefix):].split("/")
            if len(parts) == 3 and parts[0].startswith("job_") and parts[1:] == ["logs", "status.json"]:
                found.append((item["LastModified"], parts[0].removeprefix("job_")))
    documents = []
    for _, job_id in sorted(found, reverse=True):
        try:
            documents.append({"job_id": job_id, **status(lab, job_id)})
        except NcapError:
            continue  # gone between the listing and the read
    return sorted(documents, key=lambda d: str(_started(d)), reverse=True)


def _started(document: dict) -> str:
    times = [entry.get("started") for entry in (document.get("datasets") or {}).values() if isinstance(entry, dict)]
    return min([t for t in times if isinstance(t, str)], default=document.get("updated") or "")


def summary(document: dict) -> dict:
    """The row `ncap lab jobs` prints for a job."""
    datasets = [entry for entry in (document.get("datasets") or {}).values() if isinstance(entry, dict)]
    started = [e["started"] for e in datasets if isinstance(e.get("started"), str)]
    finished = [e["finished"] for e in datasets if isinstance(e.get("finished"), str)]
    stage = next((e.get("stage") for e in datasets if e.get("status") == contract.RUNNING and e.get("stage")), None)
    ended = document.get("status") in contract.ENDED
    return {"job_id": document.get("job_id"), "status": document.get("status"), "stage": stage,
            "datasets": len(datasets), "started": min(started, default=None),
            "finished": max(finished, default=None) if ended else None, "reason": document.get("reason")}


def log_keys(lab: Lab, job_id: str, document: dict) -> list[str]:
    """The job's log objects: each dataset's (and stage's) log_key, else the lab's logs folder."""
    keys = []
    for entry in (document.get("datasets") or {}).values():
        if isinstance(entry, dict):
            keys += [entry.get("log_key")] + [s.get("log_key") for s in (entry.get("stages") or {}).values()
                                               if isinstance(s, dict)]
    found = sorted({k for k in keys if isinstance(k, str) and k.startswith(f"{lab.lab}/")})
    if found:
        return found
    prefix = f"{lab.lab}/{lab.folders.logs}/job_{job_id}/"
    listed = lab.s3.list_objects_v2(Bucket=lab.bucket, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def read_from(lab: Lab, key: str, offset: int, tries: int = 3) -> bytes:
    """The object's bytes from `offset` (b"" when there are none yet). A log is replaced as it
    grows: a read that met a replacement half way (its checksum differs; the local cloud's emulator
    does not replace objects atomically) is read again."""
    from botocore.exceptions import FlexibleChecksumError

    for attempt in range(tries):
        try:
            reply = lab.s3.get_object(Bucket=lab.bucket, Key=key, **({"Range": f"bytes={offset}-"} if offset else {}))
            with reply["Body"] as body:
                return body.read()
        except FlexibleChecksumError:
            if attempt + 1 == tries:
                raise
        except Exception as error:
            code = str((getattr(error, "response", {}) or {}).get("Error", {}).get("Code", ""))
            if _missing(error) or code == "InvalidRange":
                return b""
            raise
    return b""


def follow_logs(lab: Lab, job_id: str, out: Callable[[str], None], follow: bool, interval: float = 2.0) -> str:
    """Write the job's log lines to `out`; with `follow`, new lines as they come until the job
    ends. The job's last status."""
    offsets: dict[str, int] = {}
    while True:
        document = status(lab, job_id)
        keys = log_keys(lab, job_id, document)
        for key in keys:
            fresh = read_from(lab, key, offsets.get(key, 0))
            if fresh:
                if len(keys) > 1 and key not in offsets:
                    out(f"==> {key.rsplit('/', 1)[-1]} <==\n")
                offsets[key] = offsets.get(key, 0) + len(fresh)
                out(fresh.decode("utf-8", "replace"))
        if not follow or contract.has_ended(document):
            return str(document.get("status"))
        time.sleep(interval)


def cancel(lab: Lab, job_id: str) -> tuple[str, str | None]:
    """Ask to cancel the job: (its status now, the request's key or None when it had ended)."""
    current = status(lab, job_id)
    if contract.has_ended(current):
        return str(current.get("status")), None
    key = f"{lab.lab}/{lab.folders.submissions}/{job_id}-{contract.CANCEL_SUFFIX}"
    lab.s3.put_object(Bucket=lab.bucket, Key=key, Body=json.dumps({"job_id": job_id}).encode(),
                      ContentType="application/json")
    return str(current.get("status")), key


def wait_until_ended(lab: Lab, job_id: str, timeout: float, interval: float = 1.0,
                     seen: Callable[[dict], None] | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        document = status(lab, job_id)
        if seen:
            seen(document)
        if contract.has_ended(document) or time.monotonic() >= deadline:
            return document
        time.sleep(interval)


@dataclass(frozen=True)
class Fetched:
    key: str
    path: Path
    size: int
    checked: str  # "md5" (the ETag of a single-part object) or "size"


def results(lab: Lab, job_id: str, out: Path, say: Callable[[str], None]) -> list[Fetched]:
    """Download the job's results into `out` (their folders kept), each checked against S3."""
    prefix = lab.job_prefix(job_id) + "process_results/"
    items = [item for page in lab.s3.get_paginator("list_objects_v2").paginate(Bucket=lab.bucket, Prefix=prefix)
             for item in page.get("Contents", []) if not item["Key"].endswith("/")]
    if not items:
        state = status(lab, job_id).get("status")
        raise NcapError(f"job {job_id} has no results (it is {state})")
    fetched = []
    for item in items:
        relative = item["Key"][len(prefix):]
        if any(part in ("", ".", "..") for part in relative.split("/")):
            say(f"skipped {item['Key']}: not a plain path")
            continue
        target = out.joinpath(*relative.split("/"))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise NcapError(f"--out: cannot make {target.parent} ({error.strerror or error})") from None
        lab.s3.download_file(lab.bucket, item["Key"], str(target))
        fetched.append(_checked(item, target))
        say(f"{target}  {item['Size']} bytes  ({fetched[-1].checked} checked)")
    return fetched


def _checked(item: dict, target: Path) -> Fetched:
    size = target.stat().st_size
    if size != item["Size"]:
        raise NcapError(f"{target}: {size} bytes, but S3 holds {item['Size']}: download it again")
    etag = str(item.get("ETag", "")).strip('"')
    if "-" in etag or len(etag) != 32:
        return Fetched(item["Key"], target, size, "size")
    digest = hashlib.md5(usedforsecurity=False)
    with open(target, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != etag:
        raise NcapError(f"{target}: its MD5 differs from S3's ETag: download it again")
    return Fetched(item["Key"], target, size, "md5")
