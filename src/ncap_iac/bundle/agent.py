"""The agent bundle: what a worker instance installs to run the agent (`ncap worker`) on a stock
image with nothing but python3 (3.9 or later): the worker's own code, the job contract it shares
with the Lambda code, and boto3 with the pure-Python packages it needs, taken from this Python's
installed distributions. Not the compiler: no troposphere, cfn-lint, SAM translator or jsonschema.

botocore carries every AWS service's model (about 30 MB); the bundle keeps those of the services
the agent makes clients of (SERVICES, as worker/aws.py makes them). The bundle is a deflated zip
stored under its SHA-256 in the artifact bucket (`ncap/agent/SHA256.zip`); it is built once per
set of inputs and cached."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import ncap_iac

from ..errors import NcapError
from .archive import Entry, folder_entries, save_zip

AGENT_PREFIX = "ncap/agent/"
# boto3 and what it needs at run time (tests/bundle/test_agent.py holds this to boto3's own
# requirements, followed through).
DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
# The agent's AWS clients (worker/aws.py makes them): only their models go into the bundle.
SERVICES = ("s3", "sqs", "sns", "sts", "autoscaling")
PACKAGE = Path(__file__).resolve().parents[1]  # ncap_iac
OWN_FILES = ("__init__.py", "errors.py")
OWN_FOLDERS = ("worker", "lambda_repo/ncap_lambda")
MANIFEST = "ncap-agent.json"
PYTHON_REQUIRES = ">=3.9"


@dataclass(frozen=True)
class Bundle:
    path: Path
    sha256: str

    @property
    def key(self) -> str:
        return agent_key(self.sha256)


def agent_key(sha256: str) -> str:
    return f"{AGENT_PREFIX}{sha256}.zip"


def build(cache: Path | None = None) -> Bundle:
    """The bundle of this installation, from the cache when nothing in it has changed."""
    entries = own_entries() + [e for name in DISTRIBUTIONS for e in distribution_entries(name)]
    manifest = _manifest()
    folder = cache or cache_root()
    inputs = _inputs_hash(entries, manifest)
    recorded = folder / f"{inputs}.sha256"
    if recorded.is_file() and (folder / f"{recorded.read_text().strip()}.zip").is_file():
        digest = recorded.read_text().strip()
        return Bundle(folder / f"{digest}.zip", digest)
    staging = folder / f".{inputs}.manifest"
    staging.parent.mkdir(parents=True, exist_ok=True)
    staging.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    partial = folder / f".{inputs}.zip"
    digest = save_zip([*entries, Entry(MANIFEST, staging)], partial, compress=True)
    os.replace(partial, folder / f"{digest}.zip")
    recorded.write_text(digest + "\n")
    staging.unlink()
    return Bundle(folder / f"{digest}.zip", digest)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ncap" / "agent"


def own_entries() -> list[Entry]:
    found = [Entry(f"ncap_iac/{name}", PACKAGE / name) for name in OWN_FILES]
    found.append(Entry("ncap_iac/lambda_repo/__init__.py", PACKAGE / "lambda_repo" / "__init__.py"))
    for folder in OWN_FOLDERS:
        found += [e for e in folder_entries(PACKAGE / folder, f"ncap_iac/{folder}") if e.name.endswith(".py")]
    return found


def distribution_entries(name: str) -> list[Entry]:
    """The importable files of an installed distribution (no metadata, scripts or caches)."""
    try:
        distribution = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise NcapError(f"the agent bundle needs {name}, which this Python does not have installed") from None
    found = []
    for file in distribution.files or []:
        parts = file.parts
        if parts[0].endswith((".dist-info", ".egg-info")) or parts[0] in ("..", "bin") or "__pycache__" in parts:
            continue
        if file.suffix in (".pyc", ".pyo") or not _wanted_data(parts):
            continue
        found.append(Entry(file.as_posix(), Path(str(distribution.locate_file(file)))))
    return found


def _wanted_data(parts: tuple[str, ...]) -> bool:
    """botocore/data/SERVICE/... and boto3/data/SERVICE/...: the agent's services only."""
    if len(parts) > 3 and parts[0] in ("botocore", "boto3") and parts[1] == "data":
        return parts[2] in SERVICES
    return True


def _manifest() -> dict:
    return {"ncap": ncap_iac.__version__, "python_requires": PYTHON_REQUIRES, "services": list(SERVICES),
            "distributions": {name: metadata.version(name) for name in DISTRIBUTIONS}}


def _inputs_hash(entries: list[Entry], manifest: dict) -> str:
    """What the bundle is made of: each file's name, size and modification time, and the manifest."""
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode())
    for entry in sorted(entries, key=lambda e: e.name):
        stat = entry.source.stat()
        digest.update(f"{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_mode & 0o111}\n".encode())
    return digest.hexdigest()[:32]
