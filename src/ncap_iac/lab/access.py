"""Where a lab's folders are and the S3 client that reaches them: a pipeline's bucket, the lab, its
folder names, and a lab member's credentials (an AWS profile, the short-lived credentials of a
login to a directory, or a lab user of a running local cloud, whose local.json names them)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NcapError

SUBMISSIONS = "submissions"


@dataclass(frozen=True)
class Folders:
    inputs: str = "inputs"
    configs: str = "configs"
    results: str = "results"
    logs: str = "logs"
    submissions: str = SUBMISSIONS

    @classmethod
    def parse(cls, text: str) -> Folders:
        """`inputs,configs,results,logs`, as the worker's --folders."""
        parts = [part.strip() for part in text.split(",")]
        if len(parts) != 4 or not all(parts) or any("/" in part for part in parts):
            raise NcapError("--folders: give four folder names: inputs,configs,results,logs")
        return cls(*parts)


@dataclass(frozen=True)
class Options:
    """How to reach the lab's folders, as the command line gives it."""
    pipeline: str | None = None  # the pipeline's name (its bucket)
    lab: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    folders: str | None = None
    local: Path | None = None  # a pipeline folder whose local cloud runs
    local_state: Path | None = None
    user: str | None = None  # a lab user of the local cloud


@dataclass(frozen=True)
class Lab:
    s3: Any  # a boto3 S3 client
    bucket: str
    lab: str
    folders: Folders
    budget: dict = field(default_factory=dict)  # {"budget_usd": USD or None (none)}; {}: not known

    def prefix(self, folder: str) -> str:
        return f"{self.lab}/{folder}/"

    def job_prefix(self, job_id: str) -> str:
        return f"{self.lab}/{self.folders.results}/job_{job_id}/"

    def status_key(self, job_id: str) -> str:
        return self.job_prefix(job_id) + "logs/status.json"


def connect(options: Options, need_lab: bool = True) -> Lab:
    """The lab's folders and a client with the member's credentials: an AWS profile when one is
    named, else the login to a directory (ncap lab login) when there is one, else a lab user of a
    local cloud (--local) or the usual AWS chain."""
    local_info = _local_info(options) if options.local is not None or options.local_state is not None else None
    if options.profile is None and options.user is None:
        from . import login

        if (local_info or {}).get("directory"):
            return _signed_in(options, need_lab, local_info)
        if local_info is None and login.logged_in():
            return _signed_in(options, need_lab, None)
    if local_info is not None:
        return _local(options, need_lab, local_info)
    if not options.pipeline:
        raise NcapError("--pipeline: name the pipeline (its bucket), or --local PIPELINE_DIR for a local cloud")
    if need_lab and not options.lab:
        raise NcapError("--lab: name your lab")
    folders = Folders.parse(options.folders) if options.folders else Folders()
    return Lab(_client(options.profile, options.endpoint_url, options.region), options.pipeline,
               options.lab or "", folders)


def _client(profile: str | None, endpoint: str | None, region: str | None, keys: tuple[str, str] | None = None,
            session_token: str | None = None):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.session.Session(profile_name=profile, region_name=region) if profile else \
            boto3.session.Session(region_name=region)
    except ProfileNotFound:
        raise NcapError(f"--profile: no AWS profile {profile!r} (AWS_SHARED_CREDENTIALS_FILE names the "
                        "file `ncap credentials` wrote)") from None
    config = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=16)
    if keys:
        return session.client("s3", endpoint_url=endpoint or None, config=config, aws_access_key_id=keys[0],
                              aws_secret_access_key=keys[1], aws_session_token=session_token)
    return session.client("s3", endpoint_url=endpoint or None, config=config)


def _local_info(options: Options) -> dict:
    """The local.json of the local cloud running for `options.local`."""
    folder = options.local_state or (Path(options.local or ".") / ".ncap" / "local")
    try:
        info = json.loads((folder / "local.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NcapError(f"no local cloud runs for {options.local or folder} (start it: ncap local up "
                        f"{options.local or 'PIPELINE_DIR'})") from None
    except (OSError, ValueError) as error:
        raise NcapError(f"{folder / 'local.json'}: cannot be read ({error})") from None
    if not isinstance(info, dict):
        raise NcapError(f"{folder / 'local.json'}: not what this version of ncap writes; restart the local cloud")
    info["_folder"] = str(folder)
    return info


def _signed_in(options: Options, need_lab: bool, local_info: dict | None) -> Lab:
    """The lab's folders with the short-lived credentials the directory gives the signed-in person."""
    from . import login

    found = login.current()
    if local_info is not None:
        directory = local_info["directory"]
        if found.settings.get("user_pool_id") != directory.get("user_pool_id"):
            raise NcapError(f"you are logged in to another directory than this local cloud's: ncap lab login "
                            f"--settings {local_info.get('directory_file', 'directory.json')} --email E")
    pipeline = options.pipeline or (local_info or {}).get("stack_name")
    if not pipeline:
        raise NcapError("--pipeline: name the pipeline (ncap lab labs lists your labs' pipelines)")
    lab = options.lab or _only_lab(found, pipeline)
    if not lab:
        raise NcapError("--lab: name your lab (ncap lab labs lists them)")
    creds = login.lab_credentials(found, lab, pipeline)
    endpoint = options.endpoint_url or (local_info or {}).get("endpoint_url") or found.settings.get("cognito_endpoint")
    given = creds.get("folders")
    names: dict = given if isinstance(given, dict) else {}
    folders = Folders(names.get("inputs", "inputs"), names.get("configs", "configs"), names.get("results", "results"),
                      names.get("logs", "logs"), names.get("submissions", SUBMISSIONS))
    budget = {"budget_usd": creds["budget_usd"]} if "budget_usd" in creds else {}
    return Lab(_renewing_client(creds, lab, pipeline, endpoint, options.region or creds.get("region")),
               str(creds.get("bucket") or pipeline), lab, folders, budget)


def _renewing_client(first: dict, lab: str, pipeline: str, endpoint: str | None, region: str | None):
    """An S3 client whose lab credentials are renewed from the directory before they expire, so
    that an upload or a download longer than an hour goes on."""
    import boto3
    from botocore.config import Config
    from botocore.credentials import RefreshableCredentials
    from botocore.session import get_session

    from . import login

    def as_metadata(creds: dict) -> dict:
        return {"access_key": creds["access_key_id"], "secret_key": creds["secret_access_key"],
                "token": creds["session_token"], "expiry_time": str(creds["expiration"]).replace(" ", "T")}

    def renew() -> dict:
        return as_metadata(login.lab_credentials(login.current(), lab, pipeline))

    session = get_session()
    renewing = RefreshableCredentials.create_from_metadata(as_metadata(first), renew, "ncap-directory")
    session._credentials = renewing  # type: ignore[attr-defined]  # botocore's way to give a session its own
    config = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=16)
    return boto3.session.Session(botocore_session=session, region_name=region).client(
        "s3", endpoint_url=endpoint or None, config=config)


def _only_lab(found, pipeline: str) -> str | None:
    """The signed-in person's lab when exactly one of their labs uses `pipeline`."""
    from . import login

    labs = [entry["lab"] for entry in login.call(found, "labs").get("labs", [])
            if pipeline in entry.get("pipelines", [])]
    return labs[0] if len(labs) == 1 else None


def _local(options: Options, need_lab: bool, info: dict) -> Lab:
    """A lab user of the local cloud running for `options.local` (its local.json)."""
    folder = Path(info["_folder"])
    users = info.get("users") or {}
    if not isinstance(users, dict) or not info.get("endpoint_url") or not info.get("bucket"):
        raise NcapError(f"{folder / 'local.json'}: not what this version of ncap writes; restart the local cloud")
    chosen = options.user or _user_of_lab(users, options.lab)
    if chosen not in users:
        raise NcapError(f"--user: no lab user {chosen!r} in the local cloud (users: {', '.join(sorted(users))})")
    creds = users[chosen]
    if not creds.get("access_key_id") or not creds.get("secret_access_key"):
        raise NcapError(f"{folder / 'local.json'}: lab user {chosen} has no keys; restart the local cloud")
    labs = creds.get("labs") or [creds.get("affiliate")]
    lab = options.lab or labs[0]
    if need_lab and lab not in labs:
        raise NcapError(f"--lab: {chosen} is not in lab {lab!r} (labs: {', '.join(map(str, labs))})")
    submit = (info.get("functions") or {}).get("SubmitFunction") or {}
    folders = Folders(submit.get("INPUTS_FOLDER", "inputs"), submit.get("CONFIGS_FOLDER", "configs"),
                      submit.get("RESULTS_FOLDER", "results"), submit.get("LOGS_FOLDER", "logs"),
                      submit.get("SUBMISSIONS_FOLDER", SUBMISSIONS))
    client = _client(None, info["endpoint_url"], info.get("region"),
                     (creds["access_key_id"], creds["secret_access_key"]))
    return Lab(client, info["bucket"], lab, folders)


def _user_of_lab(users: dict, lab: str | None) -> str | None:
    """The first user (by name) of `lab`, or of any lab."""
    for name in sorted(users):
        if lab is None or lab in (users[name].get("labs") or [users[name].get("affiliate")]):
            return name
    return None
