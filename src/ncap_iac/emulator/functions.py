"""Lambda without Docker: one function of a compiled template run in this Python process.

The handler is imported from the function's CodeUri (relative to the template), with the
environment the template gives it, as Lambda would set it up; values the template computes at
deploy time (Ref, GetAtt, Sub) come from an env-vars document in the format of
`sam local invoke --env-vars`. AWS calls go wherever boto3 is pointed (AWS_ENDPOINT_URL), or
where the given AWS settings point.
"""
from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NcapError
from ..regions import partition
from .context import FUNCTION_TYPES


@dataclass(frozen=True)
class Invocation:
    """What a handler did: returned `result`, or raised (`error` as Lambda reports it:
    errorType, errorMessage, stackTrace)."""

    result: Any = None
    error: dict | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> Any:
        """What `ncap invoke` prints: the result, or Lambda's error document."""
        return self.result if self.ok else self.error


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    function: str
    environment: dict
    timeout: int
    memory: int
    name: str


class LambdaContext:
    """The parts of the Lambda context object handlers use."""

    def __init__(self, spec: FunctionSpec, region: str):
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = spec.memory
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:{partition(region)}:lambda:{region}:123456789012:function:{spec.name}"
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = "ncap-invoke"
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def read_template(path: Path) -> dict:
    """A compiled template (JSON) as a dict, or one clear NcapError."""
    import json

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NcapError(f"{path}: template not found") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise NcapError(f"{path}: template is not valid JSON: {exc}") from None
    except OSError as exc:
        raise NcapError(f"{path}: cannot read the template: {exc.strerror}") from None


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def function_spec(template_path: Path, logical_id: str, env_vars: dict | None) -> FunctionSpec:
    resources = _mapping(_mapping(read_template(template_path)).get("Resources"))
    functions = sorted(k for k, r in resources.items() if _mapping(r).get("Type") in FUNCTION_TYPES)
    if logical_id not in functions:
        raise NcapError(f"{logical_id}: no such function in {template_path} "
                        f"(functions: {', '.join(functions) or 'none'})")
    props = _mapping(resources[logical_id].get("Properties"))
    module, _, function = str(props.get("Handler", "")).rpartition(".")
    code_dir = (template_path.parent / str(props.get("CodeUri", "."))).resolve()
    if not module or not code_dir.is_dir():
        raise NcapError(f"{logical_id}: needs a local CodeUri folder and a module.function Handler")
    return FunctionSpec(logical_id, code_dir, module, function,
                        _environment(logical_id, props, env_vars or {}), int(props.get("Timeout", 3)),
                        int(props.get("MemorySize", 128)), str(props.get("FunctionName", logical_id)))


def _environment(logical_id: str, props: dict, env_vars: dict) -> dict:
    """Template variables, overridden by the env-vars file (its Parameters section, then the
    function's own section), as `sam local invoke --env-vars` does: only declared ones."""
    variables = dict(_mapping(_mapping(props.get("Environment")).get("Variables")))
    for section in ("Parameters", logical_id):
        given = env_vars.get(section, {})
        if not isinstance(given, dict):
            raise NcapError(f"env-vars: \"{section}\" must be a JSON object of variable names and values")
        variables.update({k: v for k, v in given.items() if k in variables})
    unresolved = sorted(k for k, v in variables.items() if not isinstance(v, (str, int, float, bool)))
    if unresolved:
        raise NcapError(f"{logical_id}: {', '.join(unresolved)} are computed at deploy time "
                        f"(Ref/GetAtt/Sub); give their values in --env-vars under \"{logical_id}\"")
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in variables.items()}


@contextmanager
def _function_process_state(spec: FunctionSpec, region: str, aws: dict | None = None):
    """Environment and import path as Lambda sets them (`aws`: AWS settings to use instead of
    this process's), restored afterwards."""
    saved_env, saved_path = dict(os.environ), list(sys.path)
    if aws:  # these settings only: no profile, no per-service endpoint from this process
        for name in [n for n in os.environ if n == "AWS_PROFILE" or n.startswith("AWS_ENDPOINT_URL_")]:
            del os.environ[name]
        os.environ.update(aws)
    os.environ.update(spec.environment)
    os.environ.setdefault("AWS_REGION", region)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = spec.name
    _fresh_default_session()
    sys.path.insert(0, str(spec.code_dir))
    modules = _own_modules(spec.code_dir)
    saved_modules = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] in modules}
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        _fresh_default_session()
        sys.path[:] = saved_path
        for name in [n for n in sys.modules if n.split(".")[0] in modules]:
            del sys.modules[name]
        sys.modules.update(saved_modules)


_SESSIONS: dict = {}  # (key id, endpoint, region) -> the boto3 session of those settings


def _fresh_default_session() -> None:
    """boto3's default session for the credentials in the environment now: a session keeps the
    credentials it first found, and each call runs with its own function's (as each Lambda
    function has a process of its own). One session per identity is kept, since a new one reads
    every service's model again (tens of milliseconds per client)."""
    import boto3

    key = (os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_REGION"))
    if key not in _SESSIONS:
        _SESSIONS[key] = boto3.session.Session()
    boto3.DEFAULT_SESSION = _SESSIONS[key]


def _own_modules(code_dir: Path) -> set[str]:
    """The top-level modules and packages of a code folder: for the call they are imported from
    there, whatever another folder of the same module names left loaded in this process."""
    return {p.stem for p in code_dir.glob("*.py")} | {p.name for p in code_dir.iterdir()
                                                      if (p / "__init__.py").is_file()}


def invoke(spec: FunctionSpec, event, region: str, aws: dict | None = None) -> Invocation:
    """Run the handler in this process, with its environment and import path set up for the call."""
    with _function_process_state(spec, region, aws):
        return _call(_load(spec), spec, event, region)


def _load(spec: FunctionSpec):
    try:
        return getattr(importlib.import_module(spec.module), spec.function)
    except (ImportError, AttributeError) as exc:
        raise NcapError(f"{spec.logical_id}: cannot load handler {spec.module}.{spec.function} "
                        f"from {spec.code_dir}: {exc}") from None


def _call(handler, spec: FunctionSpec, event, region: str) -> Invocation:
    try:
        return Invocation(result=handler(event, LambdaContext(spec, region)))
    except Exception as exc:  # the function's own error, reported as Lambda reports it
        return Invocation(error={"errorType": type(exc).__name__, "errorMessage": str(exc),
                                 "stackTrace": traceback.format_exception(exc)[1:]})


def load_for_process(spec: FunctionSpec, region: str, aws: dict | None = None):
    """Set the function's environment (and `aws`, its AWS settings, as invoke's) and import path
    for the rest of this process and return a callable event -> outcome (as invoke's), safe to
    call from several threads at once. For a process that runs only this function from now on
    (the local cloud's upload router)."""
    if aws:
        os.environ.update(aws)
    os.environ.update(spec.environment)
    os.environ.setdefault("AWS_REGION", region)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    _fresh_default_session()
    sys.path.insert(0, str(spec.code_dir))
    handler = _load(spec)
    return lambda event: _call(handler, spec, event, region)
