"""The pipeline's post-processing function (NCAP's Lambda.PostCodeUri, PostHandler, PostTrigger):
the developer's own code, run when a job result whose key ends in PostTrigger appears.

The folder must hold the handler's module; the trigger must not overlap the pipeline's own upload
rule (S3 refuses overlapping notification rules on one bucket) nor match the files the product
writes into a job's folder itself (status.json: each post run is recorded there)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Issue
from ..lambda_code import POST_RESERVED, handler_problem
from ..lambda_repo.ncap_lambda.contract import CANCEL_SUFFIX
from .document import obj
from .model import PostFunction
from .schema import default

SUBMIT_SUFFIX = "submit.json"
PRODUCT_FILES = ("logs/status.json",)  # written into each job's folder by the product itself
CODE, HANDLER, TRIGGER = "Lambda.PostCodeUri", "Lambda.PostHandler", "Lambda.PostTrigger"


def _settings(doc: dict) -> tuple[Any, Any, Any]:
    section = obj(doc.get("Lambda"))
    return (section.get("PostCodeUri"), section.get("PostHandler"),
            section.get("PostTrigger", default("Lambda", "PostTrigger")))


def configured(doc: dict) -> bool:
    code_uri, handler, _ = _settings(doc)
    return code_uri is not None or handler is not None


def issues(doc: dict, base_dir: Path) -> list[Issue]:
    code_uri, handler, trigger = _settings(doc)
    found = _trigger_issues(doc, trigger) if configured(doc) else []
    if (code_uri is None) != (handler is None):
        given, missing = (CODE, HANDLER) if handler is None else (HANDLER, CODE)
        return found + [Issue(missing, f"required with {given}: the post-processing function's folder "
                                       f"({CODE}) and handler ({HANDLER}) go together")]
    if isinstance(code_uri, str) and code_uri and code_uri.isprintable() and isinstance(handler, str):
        found += _code_issues(base_dir, code_uri, handler)  # (a value the schema refuses is its to report)
    return found + (_role_size_issues(doc) if configured(doc) else [])


ROLE_POLICY_LIMIT = 10240  # IAM: characters of a role's inline policies, whitespace not counted
ROLE_POLICY_BASE = 600  # the policy's other statements and its frame, generously


def _role_size_issues(doc: dict) -> list[Issue]:
    """The function's role names each lab's results folder (a wildcard for every lab would also
    match a `results/` folder inside a lab's inputs): too many labs would pass IAM's limit."""
    bucket = doc.get("PipelineName") if isinstance(doc.get("PipelineName"), str) else ""
    results = obj(obj(doc.get("Lambda")).get("LambdaConfig")).get("OUTDIR", "results")
    labs = [str(obj(a).get("AffiliateName")) for a in (obj(doc.get("UXData")).get("Affiliates") or [])
            if isinstance(a, dict)]
    size = ROLE_POLICY_BASE + sum(len(f'"arn:aws:s3:::{bucket}/{lab}/{results}/*",') for lab in labs)
    if size <= ROLE_POLICY_LIMIT:
        return []
    return [Issue(CODE, f"the post-processing function's role would name the results of {len(labs)} labs in "
                        f"about {size} characters, over IAM's {ROLE_POLICY_LIMIT} for a role's policies; "
                        "split the labs over pipelines")]


def _code_issues(base_dir: Path, code_uri: str, handler: str) -> list[Issue]:
    try:
        folder = (base_dir / code_uri).resolve()
        found = folder.is_dir()
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        return [Issue(CODE, f"not a usable folder path ({why}; {len(code_uri)} characters), so it cannot hold "
                            f"the handler {handler} ({HANDLER})")]
    if not found:
        return [Issue(CODE, f"folder '{code_uri}' not found next to the config ({base_dir}), so it cannot hold "
                            f"the handler {handler} ({HANDLER})")]
    problem = handler_problem(folder, handler)
    if problem:
        return [Issue(HANDLER, f"folder '{code_uri}' ({CODE}, {folder}) {problem}")]
    taken = sorted(name for name in POST_RESERVED if (folder / name).exists())
    if taken:
        return [Issue(CODE, f"folder '{code_uri}' holds {', '.join(taken)}, which the product adds beside "
                            f"the handler {handler} ({HANDLER}): rename it")]
    return []


def _trigger_issues(doc: dict, trigger: Any) -> list[Issue]:
    if not isinstance(trigger, str) or not trigger:
        return []  # the schema reports it
    problems = [f"overlaps the pipeline's own trigger suffix '{own}' ({where}): S3 refuses overlapping "
                f"notification rules on one bucket" for own, where in _own_suffixes(doc)
                if own.endswith(trigger) or trigger.endswith(own)]
    problems += [f"matches {name}, which the product writes into every job's folder (each post run is "
                 f"recorded there)" for name in PRODUCT_FILES if name.endswith(trigger)]
    return [Issue(TRIGGER, f"'{trigger}' {problem}") for problem in problems]


def _own_suffixes(doc: dict) -> list[tuple[str, str]]:
    section, cancel = obj(doc.get("Trigger")), [(CANCEL_SUFFIX, "the labs' cancel requests")]
    if section.get("Mode", default("Trigger", "Mode")) != "fileset":
        return [(SUBMIT_SUFFIX, "Trigger.Mode submit"), *cancel]
    suffixes = section.get("Suffixes", default("Trigger", "Suffixes"))
    return [(s, "Trigger.Suffixes") for s in suffixes if isinstance(s, str) and s] + cancel \
        if isinstance(suffixes, list) else cancel


def post_function(doc: dict, base_dir: Path) -> PostFunction | None:
    code_uri, handler, trigger = _settings(doc)
    if code_uri is None:
        return None
    return PostFunction(code_uri=(base_dir / code_uri).resolve(), handler=handler, trigger=trigger)
