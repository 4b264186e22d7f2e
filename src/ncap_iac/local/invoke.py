"""`ncap invoke`: one function of a compiled template run in this process (the counterpart of
`sam local invoke`, with the same event and --env-vars files). Values the template computes at
deploy time come from the env-vars file when one is given, else from the pipeline's local cloud
when one runs (`ncap local up` wrote them into its local.json; AWS calls then go to that cloud,
with the function's own role's credentials), else they are asked for."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import names
from ..aws.clients import Aws
from ..aws.errors import aws_errors, explain
from ..emulator.functions import Invocation, function_spec, invoke, read_template
from ..errors import NcapError
from . import state
from .identities import Identities


@dataclass(frozen=True)
class InvokeOptions:
    logical_id: str
    template: Path
    event: str | None = None  # a file, "-" for standard input; None: {}
    env_vars: str | None = None
    local_state: str | None = None
    region: str | None = None


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
    resources = _mapping(_mapping(read_template(template_path)).get("Resources"))
    name = _mapping(_mapping(resources.get(names.BUCKET)).get("Properties")).get("BucketName")
    return name if isinstance(name, str) else None


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def function_environment(cloud: dict, region: str, function_name: str) -> dict:
    """AWS settings that point a handler at a running local cloud, with its function's role's
    credentials (as Lambda gives them; the cloud's administrator only looks the role up)."""
    admin = Aws(region, cloud["endpoint_url"], (cloud["admin"]["access_key_id"], cloud["admin"]["secret_access_key"]))
    try:
        return Identities.on(admin).as_function(function_name)
    except aws_errors() as exc:
        raise explain(exc, f"{function_name}: taking its role on the local cloud") from None


def running_cloud(template: Path, given_state: str | None) -> dict | None:
    """The running local cloud of the template's pipeline; with --local-state, it must run."""
    name = pipeline_name(template)
    cloud = state.running_cloud(name, template.resolve().parent, given_state) if name else None
    if given_state and cloud is None:
        raise NcapError(f"--local-state {given_state}: no local cloud of "
                        f"{name or 'this template'} runs from there (start one with `ncap local up`)")
    return cloud


def run(options: InvokeOptions, say) -> Invocation:
    """Invoke the function as the options say; `say` gets the one line about a local cloud."""
    if options.env_vars and options.local_state:
        raise NcapError("--env-vars and --local-state: give one (values from a file, or from a local cloud)")
    event = read_json(options.event, "event") if options.event else {}
    cloud = None if options.env_vars else running_cloud(options.template, options.local_state)
    env_vars = read_json(options.env_vars, "env-vars file") if options.env_vars else (cloud or {}).get("functions", {})
    if not isinstance(env_vars, dict):
        raise NcapError(f"{options.env_vars}: expected a JSON object keyed by function logical id")
    spec = function_spec(options.template, options.logical_id, env_vars)
    region = (options.region or (cloud or {}).get("region") or os.environ.get("AWS_DEFAULT_REGION")
              or os.environ.get("AWS_REGION") or "us-east-1")
    if cloud:
        say(f"ncap invoke: using the local cloud at {cloud['endpoint_url']} (stack {cloud['stack_name']}): "
            f"its resource names, with the function's own role")
    return invoke(spec, event, region, function_environment(cloud, region, spec.name) if cloud else None)
