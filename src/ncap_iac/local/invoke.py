"""Run one function of a compiled template in this Python process, without Docker: the
counterpart of `sam local invoke`, taking the same event and --env-vars files.

The handler is imported from the function's CodeUri (relative to the template), with the
environment the template gives it. Values the template computes at deploy time (Ref, GetAtt, Sub)
come from the env-vars file when one is given, else from the pipeline's local cloud when one runs
(`ncap local up` wrote them to its local.json; AWS calls then go to that cloud, as its admin),
else they are asked for. Otherwise AWS calls go wherever boto3 is pointed (AWS_ENDPOINT_URL).
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import NcapError

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


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
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{spec.name}"
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = "ncap-invoke"
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def read_json(path: str | Path, what: str):
    """Parse a JSON file ("-" is standard input) or raise one clear NcapError."""
    try:
        text = sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except FileNotFoundError:
        raise NcapError(f"{path}: {what} not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NcapError(f"{path}: {what} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise NcapError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def pipeline_name(template_path: Path) -> str | None:
    """The pipeline a compiled template is of (its bucket's name), None when it does not say."""
    template = read_json(template_path, "template")
    bucket = _mapping(_mapping(template).get("Resources")).get("PipelineBucket")
    name = _mapping(_mapping(bucket).get("Properties")).get("BucketName")
    return name if isinstance(name, str) else None


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def cloud_environment(cloud: dict, region: str) -> dict:
    """AWS settings that point a handler at a running local cloud, as its administrator."""
    return {"AWS_ENDPOINT_URL": cloud["endpoint_url"], "AWS_ACCESS_KEY_ID": cloud["admin"]["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": cloud["admin"]["secret_access_key"], "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region}


def function_spec(template_path: Path, logical_id: str, env_vars: dict | None) -> FunctionSpec:
    resources = _mapping(_mapping(read_json(template_path, "template")).get("Resources"))
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
    sys.path.insert(0, str(spec.code_dir))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path


def invoke(spec: FunctionSpec, event, region: str, aws: dict | None = None) -> dict:
    """Run the handler; return {"result": ...} or {"errorType", "errorMessage", "stackTrace"}."""
    with _function_process_state(spec, region, aws):
        return _call(_load(spec), spec, event, region)


def _load(spec: FunctionSpec):
    try:
        return getattr(importlib.import_module(spec.module), spec.function)
    except (ImportError, AttributeError) as exc:
        raise NcapError(f"{spec.logical_id}: cannot load handler {spec.module}.{spec.function} "
                        f"from {spec.code_dir}: {exc}") from None


def _call(handler, spec: FunctionSpec, event, region: str) -> dict:
    try:
        return {"result": handler(event, LambdaContext(spec, region))}
    except Exception as exc:  # the function's own error, reported as Lambda reports it
        return {"errorType": type(exc).__name__, "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc)[1:]}


def load_for_process(spec: FunctionSpec, region: str):
    """Set the function's environment and import path for the rest of this process and return
    a callable event -> outcome (as invoke's), safe to call from several threads at once. For a
    process that runs only this function from now on (the local cloud's upload router)."""
    os.environ.update(spec.environment)
    os.environ.setdefault("AWS_REGION", region)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    sys.path.insert(0, str(spec.code_dir))
    handler = _load(spec)
    return lambda event: _call(handler, spec, event, region)
