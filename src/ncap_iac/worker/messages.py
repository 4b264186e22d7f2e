"""The queue message contract (written by lambda_repo/submit_start.py), checked before anything
runs: a message that breaks it raises BadMessage, carrying the status key when that key is safe to
write (this bucket, inside the message's own lab folder)."""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from ..lambda_repo.ncap_lambda.contract import MESSAGE_FIELDS, MESSAGE_VERSION, stage_path

JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
AFFILIATE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
MAX_KEY = 1024  # S3 key limit in bytes
MAX_DATANAMES = 1000
UNNAMED_DATASET = "(bad message)"
STAGE = re.compile(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*")


class BadMessage(Exception):
    """A message that must never run. `status_key` is None when it is not safe to write."""

    def __init__(self, reason: str, document=None, status_key: str | None = None):
        super().__init__(reason)
        self.reason = reason
        fields = document if isinstance(document, dict) else {}
        self.status_key = status_key
        self.job_id = str(fields.get("job_id", ""))[:200] or None
        self.affiliate = str(fields.get("affiliate", ""))[:200] or None
        dataname = fields.get("dataname")
        self.dataset = dataname[:MAX_KEY] if isinstance(dataname, str) and dataname else UNNAMED_DATASET


@dataclass(frozen=True)
class Task:
    """A checked message: one dataset of one job."""
    bucket: str
    affiliate: str | None  # None only in the stand-in for a bad message's status write
    job_id: str | None
    submit_key: str | None
    dataname: str
    datanames: tuple
    configname: str | None
    resultpath: str | None
    status_key: str
    stage: str | None = None  # the stage this message is for (None: a pipeline of one stage)
    input_prefix: str | None = None  # a later stage's inputs: the previous stage's outputs
    next_stage: str | None = None  # the stage after this one (this agent's --next-stage)
    versions: tuple = ()  # (key, version id): the object versions the submission pinned

    def version_of(self, key: str) -> str | None:
        return dict(self.versions).get(key)

    @property
    def logs_prefix(self) -> str:
        return self.status_key.rsplit("/", 1)[0] + "/"

    @property
    def output_path(self) -> str | None:
        """Where this attempt's outputs go: the resultpath, or for a stage that is not the last
        its own folder (`.../stages/<stage>/`)."""
        if self.next_stage is None or self.stage is None or self.resultpath is None:
            return self.resultpath
        return stage_path(self.resultpath, self.stage)

    def body(self) -> dict:
        """The message this task came from (without a previous stage's input prefix)."""
        body = {"version": MESSAGE_VERSION, "bucket": self.bucket, "affiliate": self.affiliate,
                "job_id": self.job_id, "submit_key": self.submit_key, "dataname": self.dataname,
                "datanames": list(self.datanames), "configname": self.configname,
                "resultpath": self.resultpath, "status_key": self.status_key}
        if self.versions:
            body["versions"] = dict(self.versions)
        return {**body, "stage": self.stage} if self.stage else body


def parse(body: str, bucket: str, stage: str | None = None) -> Task:
    """The Task in a message body, or BadMessage saying what is wrong with it; `stage`: the
    stage this agent runs (a message must be for it)."""
    document = decoded(body)
    status_key = usable_status_key(document, bucket)
    problem = document_problem(document, bucket) or stage_problem(document, stage)
    if problem:
        raise BadMessage(problem, document, status_key)
    configname = document.get("configname")
    submit_key = document.get("submit_key")
    return Task(bucket=bucket, affiliate=document["affiliate"], job_id=document["job_id"],
                submit_key=submit_key if isinstance(submit_key, str) else None,
                dataname=document["dataname"], datanames=tuple(document["datanames"]),
                configname=configname or None, resultpath=document["resultpath"],
                status_key=str(status_key),  # a message without a usable one has a problem above
                stage=document.get("stage"), input_prefix=document.get("input_prefix"),
                versions=tuple(sorted((document.get("versions") or {}).items())))


def stage_problem(document: dict, stage: str | None) -> str | None:
    """What is wrong with the message's stage and inputs for an agent of `stage`, or None."""
    given, prefix = document.get("stage"), document.get("input_prefix")
    if given != stage:
        return f"the message is for stage {given!r}, this worker runs stage {stage!r}"
    if given is not None and not (isinstance(given, str) and STAGE.fullmatch(given)):
        return f"stage {given!r} is not a stage name"
    if prefix is None:
        return None
    job_folder = str(document["status_key"]).removesuffix("logs/status.json")
    problem = key_problem(prefix, document["affiliate"], folder=True)
    if problem:
        return f"input_prefix: {problem}"
    if not prefix.startswith(job_folder + "stages/"):
        return f"input_prefix: {prefix!r} is not a stage folder of job {document['job_id']!r}"
    return None


def decoded(body) -> dict:
    try:
        document = json.loads(body)
    except (TypeError, ValueError):
        raise BadMessage("the message is not JSON") from None
    if not isinstance(document, dict):
        raise BadMessage("the message is not a JSON object")
    return document


def usable_status_key(document: dict, bucket: str) -> str | None:
    """The message's status key when writing it cannot touch anything outside its lab."""
    affiliate, key = document.get("affiliate"), document.get("status_key")
    if document.get("bucket") != bucket or affiliate_problem(affiliate):
        return None
    if not isinstance(key, str) or key_problem(key, str(affiliate)) or not key.endswith("/status.json"):
        return None
    return key


def document_problem(document: dict, bucket: str) -> str | None:
    """The first thing wrong with a decoded message, or None."""
    missing = [name for name in MESSAGE_FIELDS if not isinstance(document.get(name), str)]
    if missing:
        return f"missing or not a string: {', '.join(missing)}"
    if document["bucket"] != bucket:
        return f"bucket {document['bucket']!r} is not this worker's bucket {bucket!r}"
    if document.get("version", MESSAGE_VERSION) != MESSAGE_VERSION:
        return f"unsupported message version {document.get('version')!r}"
    affiliate = document["affiliate"]
    return (affiliate_problem(affiliate) or job_id_problem(document["job_id"])
            or keys_problem(document, affiliate))


def affiliate_problem(affiliate) -> str | None:
    if not isinstance(affiliate, str) or not AFFILIATE.fullmatch(affiliate):
        return f"affiliate {affiliate!r} is not a lab name"
    return None


def job_id_problem(job_id: str) -> str | None:
    return None if JOB_ID.fullmatch(job_id) else f"job_id {job_id!r} is not a job id"


def keys_problem(document: dict, affiliate: str) -> str | None:
    datanames = document.get("datanames")
    if not isinstance(datanames, list) or not 0 < len(datanames) <= MAX_DATANAMES:
        return "datanames must be a list of 1 to 1000 keys"
    configname = document.get("configname")
    checks = [("dataname", document["dataname"], False), ("resultpath", document["resultpath"], True),
              ("status_key", document["status_key"], False)]
    checks += [("datanames", name, False) for name in datanames]
    checks += [("configname", configname, False)] if configname is not None else []
    for field, key, folder in checks:
        problem = key_problem(key, affiliate, folder)
        if problem:
            return f"{field}: {problem}"
    problem = versions_problem(document.get("versions"), [*datanames, configname])
    if problem:
        return problem
    if not document["status_key"].endswith("/status.json"):
        return "status_key: must name a status.json"
    return None


def versions_problem(versions, keys: list) -> str | None:
    """What is wrong with a message's "versions" ({key: version id} of its own keys), or None."""
    if versions is None:
        return None
    if not isinstance(versions, dict) or not all(isinstance(v, str) and 0 < len(v) <= 1024
                                                 for v in versions.values()):
        return "versions must map keys to version ids"
    strays = sorted(set(versions) - set(keys))
    return f"versions: {strays[0]!r} is not a key of this message" if strays else None


def key_problem(key, affiliate: str, folder: bool = False) -> str | None:
    """What makes `key` unusable as an object key (a folder prefix when `folder`) of `affiliate`."""
    if not isinstance(key, str) or not key:
        return f"{key!r} is not a key"
    if key.startswith("/"):
        return f"{key!r} is an absolute path"
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY or bad_character(key):
        return f"{key!r} is too long or holds a control character or backslash"
    if not key.startswith(affiliate + "/"):
        return f"{key!r} is outside the lab's folder {affiliate}/"
    parts = key.split("/")
    inner = parts[1:-1] if folder else parts[1:]
    if any(part in ("", ".", "..") for part in inner) or folder != key.endswith("/"):
        return f"{key!r} holds '..', '.' or an empty folder name, or misses or has a final '/'"
    return None


def bad_character(key: str) -> bool:
    return any(char == "\\" or unicodedata.category(char) in ("Cc", "Cs") for char in key)
