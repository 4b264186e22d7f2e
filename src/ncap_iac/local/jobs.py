"""`ncap local submit` and `ncap local status`: a lab member's and an operator's view of the local
cloud, through boto3 with the credentials in local.json (a lab user's for submit)."""
from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path

from ..config import load
from ..errors import NcapError
from ..lambda_repo.ncap_lambda import contract
from ..lambda_repo.ncap_lambda.submission import token_or_hash
from . import state


def _info(pipeline_dir: Path, given_state: str | None) -> tuple:
    config = load(pipeline_dir / "stack_config.json")
    return config, state.read(state.state_dir(pipeline_dir, given_state) / "local.json", str(pipeline_dir))


def _s3(info: dict, key_id: str, secret: str):
    import boto3

    return boto3.client("s3", endpoint_url=info["endpoint_url"], region_name=info["region"],
                        aws_access_key_id=key_id, aws_secret_access_key=secret)


def submit(pipeline_dir: Path, user: str, data: list[Path], config_file: Path | None, wait: bool,
           out: Path | None, timeout: float, given_state: str | None, say, lab: str | None = None) -> int:
    """Upload the data (and config) as `user` and start the job: a submit.json, or in fileset mode
    the set's files themselves (their upload starts it)."""
    config, info = _info(pipeline_dir, given_state)
    if user not in info["users"]:
        raise NcapError(f"--user: no lab user {user!r} (users: {', '.join(sorted(info['users']))})")
    if config_file is None and config.trigger.mode == "submit":
        raise NcapError("--config: a submission needs the analysis config file")
    for path in [*data, *filter(None, [config_file])]:
        if not path.is_file():
            raise NcapError(f"{path}: file not found")
    creds = info["users"][user]
    labs = creds.get("labs") or [creds["affiliate"]]
    if lab is not None and lab not in labs:
        raise NcapError(f"--lab: {user} is not in lab {lab!r} (labs: {', '.join(labs)})")
    s3, lab, folders = _s3(info, creds["access_key_id"], creds["secret_access_key"]), lab or labs[0], config.folders
    if config.trigger.mode == "fileset":
        job_id = _upload_fileset(s3, info["bucket"], config, lab, data, config_file)
        return _follow(s3, info["bucket"], lab, folders.results, job_id, f"the files of job {job_id} as {user} ({lab})",
                       wait, out, timeout, say)
    assert config_file is not None  # refused above in submit mode
    job_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
    datanames = [_upload(s3, info["bucket"], f"{lab}/{folders.inputs}/{p.name}", p) for p in data]
    configname = _upload(s3, info["bucket"], f"{lab}/{folders.configs}/{config_file.name}", config_file)
    document = {"dataname": datanames[0] if len(datanames) == 1 else datanames, "configname": configname,
                "timestamp": job_id}
    submit_key = f"{lab}/{folders.submissions}/{job_id}_submit.json"
    s3.put_object(Bucket=info["bucket"], Key=submit_key, Body=json.dumps(document).encode())
    return _follow(s3, info["bucket"], lab, folders.results, job_id,
                   f"job {job_id} as {user} ({lab}): s3://{info['bucket']}/{submit_key}", wait, out, timeout, say)


def _follow(s3, bucket: str, lab: str, results: str, job_id: str, what: str, wait: bool, out: Path | None,
            timeout: float, say) -> int:
    status_key = contract.status_key(contract.job_prefix(lab, results, job_id))
    say(f"submitted {what}")
    if not wait:
        say(f"status: s3://{bucket}/{status_key}")
        return 0
    final = _wait(s3, bucket, status_key, timeout, say)
    return _finish(s3, bucket, lab, results, job_id, final, out, say)


def _upload_fileset(s3, bucket: str, config, lab: str, data: list[Path], config_file: Path | None) -> str:
    """Upload one complete set (a file per suffix, one stem), the config first; returns the job id
    the submit function gives it."""
    suffixes = config.trigger.suffixes
    stems = {p.name[:-len(max((s for s in suffixes if p.name.endswith(s)), key=len))]
             for p in data if any(p.name.endswith(s) for s in suffixes)}
    given = sorted(max((s for s in suffixes if p.name.endswith(s)), key=len, default="") for p in data)
    if len(stems) != 1 or given != sorted(suffixes):
        raise NcapError(f"--data: fileset mode needs one file per suffix ({', '.join(suffixes)}) of one stem, "
                        f"got {', '.join(p.name for p in data)}")
    if config_file is not None:
        _upload(s3, bucket, f"{lab}/{config.folders.configs}/{config_file.name}", config_file)
    for path in data:
        _upload(s3, bucket, f"{lab}/{config.folders.inputs}/{path.name}", path)
    stem = stems.pop()
    return token_or_hash(stem, f"{lab}/{config.folders.inputs}/{stem}")


def _upload(s3, bucket: str, key: str, path: Path) -> str:
    s3.upload_file(str(path), bucket, key)
    return key


def _read_status(s3, bucket: str, key: str) -> dict | None:
    """The job's status.json, None while there is none. A lab user may list only under its lab,
    so a read of a key not written yet is AccessDenied for it (as on AWS): a listing asks first."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    if not listed or listed[0]["Key"] != key:
        return None
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def _wait(s3, bucket: str, key: str, timeout: float, say) -> dict:
    started, shown = time.monotonic(), None
    while time.monotonic() - started < timeout:
        status = _read_status(s3, bucket, key)
        line = _progress(status, time.monotonic() - started)
        if line != shown:
            print(f"\r{line}", end="", file=sys.stderr, flush=True)
            shown = line
        if status and status.get("status") in contract.ENDED:
            print(file=sys.stderr)
            return status
        time.sleep(0.2)
    print(file=sys.stderr)
    raise NcapError(f"the job did not finish within {timeout:.0f} s; `ncap local status` shows where it is")


def _progress(status: dict | None, seconds: float, width: int = 20) -> str:
    if status is None:
        return f"[{'.' * width}] waiting for the submit function {seconds:5.1f} s"
    datasets = status.get("datasets") or {}
    done = sum(1 for d in datasets.values() if d.get("status") in contract.ENDED)
    filled = width if status.get("status") in contract.ENDED else (width * done // max(len(datasets), 1))
    return (f"[{'#' * filled}{'.' * (width - filled)}] {status.get('status', '?'):8} "
            f"{done}/{len(datasets)} datasets {seconds:5.1f} s{_at_stage(status)}")


def _at_stage(status: dict) -> str:
    """", stage NAME" for the first stage of a running job that has not succeeded yet."""
    given = status.get("stages")
    stages: dict = given if isinstance(given, dict) else {}
    if status.get("status") != contract.RUNNING:
        return ""
    pending = [name for name, entry in stages.items() if isinstance(entry, dict)
               and entry.get("status") in (contract.RUNNING, contract.QUEUED)]
    running = [name for name in pending if stages[name].get("status") == contract.RUNNING]
    return f", stage {(running or pending)[0]}" if pending else ""


def _finish(s3, bucket: str, lab: str, results: str, job_id: str, status: dict, out: Path | None, say) -> int:
    if status["status"] != contract.SUCCESS:
        say(f"job {job_id} {status['status']}: {status.get('reason') or 'no reason given'}")
        return 1
    target = (out or Path("ncap-results")) / job_id
    prefix = contract.job_prefix(lab, results, job_id)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            local = target / item["Key"][len(prefix):]
            local.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(local))
    say(f"job {job_id} SUCCESS; results downloaded to {target}")
    return 0


REASON_WIDTH = 60  # a reason longer than this is cut, with where to read it whole


def status(pipeline_dir: Path, given_state: str | None, say) -> int:
    """One line per job, oldest submission first, under a header; a job of stages has a line per
    stage under it."""
    config, info = _info(pipeline_dir, given_state)
    s3 = _s3(info, info["admin"]["access_key_id"], info["admin"]["secret_access_key"])
    found = []
    for affiliate in config.affiliates:
        prefix = f"{affiliate.name}/{config.folders.results}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=info["bucket"], Prefix=prefix):
            found += [(o["Key"], _read_status(s3, info["bucket"], o["Key"])) for o in page.get("Contents", [])
                      if o["Key"].endswith("/logs/status.json")]
    rows = [(key, row, _submitted(s3, info["bucket"], row)) for key, row in found if row]
    if not rows:
        say("no jobs yet")
        return 0
    say(f"{'job':32} {'lab':16} {'status':9} {'datasets':8}  {'submitted':20}  {'updated':20}  reason")
    for key, row, submitted in sorted(rows, key=lambda r: (r[2], r[1].get("updated", ""))):
        done = sum(1 for d in (row.get("datasets") or {}).values() if d.get("status") == contract.SUCCESS)
        datasets = f"{done}/{len(row.get('datasets') or {})}"
        say(f"{row.get('job_id', '?'):32} {row.get('affiliate', '?'):16} {row.get('status', '?'):9} {datasets:8}  "
            f"{submitted:20}  {row.get('updated', ''):20}  {_reason(row.get('reason'), info['bucket'], key)}".rstrip())
        for line in stage_lines(row, [str(stage.name) for stage in config.stages]):
            say(line)
    return 0


def _submitted(s3, bucket: str, row: dict) -> str:
    """When the job's submit file was uploaded (its status's first time when that file is gone)."""
    key = row.get("submit_key")
    try:
        if isinstance(key, str):
            return s3.head_object(Bucket=bucket, Key=key)["LastModified"].strftime("%Y-%m-%dT%H:%M:%SZ")
    except Exception:  # a submit file removed, or unreadable: fall back
        pass
    return str(row.get("updated", ""))


def _reason(reason, bucket: str, key: str) -> str:
    """The reason on one line; a long one cut, with where to read it whole."""
    text = " ".join(str(reason or "").split())
    if len(text) <= REASON_WIDTH:
        return text
    return f"{text[:REASON_WIDTH - 1]}… (whole: s3://{bucket}/{key})"


def stage_lines(row: dict, order: list[str]) -> list[str]:
    """One indented line per stage of a job: its status over the datasets, when, and why."""
    given = row.get("stages")
    stages: dict = given if isinstance(given, dict) else {}
    named = [name for name in order if name in stages] + sorted(set(stages) - set(order))
    lines = []
    for name in named:
        entry = stages[name] if isinstance(stages[name], dict) else {}
        lines.append(f"  stage {name:24} {entry.get('status') or '?':9} {entry.get('updated') or '':20}  "
                     f"{entry.get('reason') or ''}".rstrip())
    return lines
