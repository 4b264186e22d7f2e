"""read -> schema -> checks -> defaults -> model. Every problem is collected before raising."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Issue
from ..lambda_code import SUBMIT_HANDLER, names_ncap_code, names_ncap_handler
from . import budgets, capacity, checks, code, document, image_build, images, ncap_keys, post, spot, worker_code
from .model import (
    Affiliate,
    Budgets,
    DataRetention,
    Folders,
    Notifications,
    Queue,
    ScaleStep,
    Scaling,
    StackConfig,
    Stage,
    SubmitFunction,
    Trigger,
    Workers,
)
from .schema import default, schema_issues
from .stages import stage_document

DEFAULT_JOB_TIMEOUT = 86400
DEFAULT_SUBMIT_TIMEOUT = 60
DEFAULT_SHUTDOWN = "terminate"
DEFAULT_LOG_FILE = "job_log.txt"


def load(path: str | Path) -> StackConfig:
    path = Path(path)
    return load_document(read_document(path), path.resolve().parent, source=path)


def load_document(doc: Any, base_dir: Path, source: Path | None = None) -> StackConfig:
    issues, warnings = validate_document(doc, base_dir)
    if issues:
        raise ConfigError(issues)
    return _model(doc, base_dir, source, warnings)


def validate_document(doc: Any, base_dir: Path) -> tuple[list[Issue], list[Issue]]:
    """Return (problems, warnings). Problems come from the schema, the named checks and CodeUri."""
    issues = schema_issues(doc)
    if not isinstance(doc, dict):
        return issues, []
    issues += checks.run_checks(doc)
    issues += code.code_uri_issues(doc, base_dir) + post.issues(doc, base_dir) + worker_code.issues(doc, base_dir)
    issues += image_build.issues(doc, base_dir)
    return _ordered(issues), ncap_keys.warnings(doc) + budgets.warnings(doc) + images.warnings(doc) + \
        spot.warnings(doc)


def _ordered(issues: list[Issue]) -> list[Issue]:
    """Each problem once, in document-path order."""
    return sorted(dict.fromkeys(issues), key=lambda i: i.path)


# Reading ------------------------------------------------------------------------------------

def read_document(path: Path) -> Any:
    where = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([(where, "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError([(where, "is a folder, not a stack_config.json file")]) from None
    except OSError as exc:
        raise ConfigError([(where, f"cannot be read: {exc.strerror}")]) from None
    return parse_json(data, where)


def parse_json(data: bytes, where: str) -> Any:
    if not data.strip():
        raise ConfigError([(where, "file is empty")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError([(where, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                                   f"{exc.start})")]) from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError([(f"{where}:{exc.lineno}:{exc.colno}", f"not valid JSON: {exc.msg}")]) from None
    except ValueError as exc:
        raise ConfigError([(where, f"not valid JSON: {exc}")]) from None
    except RecursionError:
        raise ConfigError([(where, "not valid JSON: nested too deeply")]) from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# Model --------------------------------------------------------------------------------------

def _section(doc: dict, name: str) -> dict:
    return dict(doc.get(name) or {})


def _get(section: dict, section_name: str, key: str) -> Any:
    """The value as written (an explicit false stays false), else the schema's default."""
    return section[key] if key in section else default(section_name, key)


def _model(doc: dict, base_dir: Path, source: Path | None, warnings: list[Issue]) -> StackConfig:
    ncap = document.lambda_config(doc)
    stages = tuple(_stage(doc, entry, ncap, base_dir) for entry in doc.get("Stages") or [])
    first = stages[0] if stages else _stage(doc, {}, ncap, base_dir)
    return StackConfig(
        pipeline_name=doc["PipelineName"],
        region=doc["REGION"],
        submit=_submit(doc, ncap, base_dir),
        workers=first.workers,
        queue=first.queue,
        scaling=first.scaling,
        stages=stages,
        trigger=_trigger(_section(doc, "Trigger")),
        notifications=_notifications(_section(doc, "Notifications")),
        retention=_retention(_section(doc, "DataRetention")),
        folders=Folders(inputs=ncap.get("INDIR", "inputs"), results=ncap.get("OUTDIR", "results"),
                        logs=ncap.get("LOGDIR", "logs")),
        affiliates=tuple(_affiliate(entry) for _, entry in document.affiliates(doc)),
        artifact_bucket=_section(doc, "Deploy").get("ArtifactBucket"),
        stage=doc.get("STAGE", default("STAGE")),
        pipeline_version=doc.get("PipelineVersion"),
        monitor=ncap.get("MONITOR", default("Lambda", "LambdaConfig", "MONITOR")),
        requirements=code.requirements(doc, base_dir),
        budgets=Budgets(per_lab_monthly_usd=budgets.per_lab_budget(doc),
                        expected_job_minutes=budgets.expected_job_minutes(doc)),
        post=post.post_function(doc, base_dir),
        source=source,
        directory=_section(doc, "Access").get("Directory"),
        warnings=tuple(warnings),
        notes=tuple(code.code_notes(doc) + code.requirements_notes(doc, base_dir) + budgets.notes(doc)
                    + _price_notes(doc) + capacity.notes(doc)),
    )


def _price_notes(doc: dict) -> list[Issue]:
    """A price looked up at deploy, said where it applies (each stage's own, with Stages)."""
    entries = doc.get("Stages") or []
    if not entries:
        return budgets.price_notes(doc)
    return [note for i, entry in enumerate(entries)
            for note in budgets.price_notes(stage_document(doc, entry), f"Stages[{i}].Workers.HourlyPriceUSD")]


def _stage(doc: dict, entry: dict, ncap: dict, base_dir: Path) -> Stage:
    """A stage: its Workers, Queue and Scaling merged over the top-level sections."""
    merged = stage_document(doc, entry)
    return Stage(name=entry.get("Name"), workers=_workers(merged, _section(merged, "Workers"), ncap, base_dir,
                                                          entry.get("Name")),
                 queue=_queue(_section(merged, "Queue")), scaling=_scaling(_section(merged, "Scaling")))


def _submit(doc: dict, ncap: dict, base_dir: Path) -> SubmitFunction:
    code_uri, handler = code.code_settings(doc)
    own = not names_ncap_code(code_uri)
    return SubmitFunction(code_uri=(base_dir / code_uri).resolve() if own else None,
                          handler=handler if own or not names_ncap_handler(handler) else SUBMIT_HANDLER,
                          timeout=ncap.get("EXECUTION_TIMEOUT", DEFAULT_SUBMIT_TIMEOUT),
                          default_config_name=ncap.get("CONFIG"),
                          missing_config_error=ncap.get("MISSING_CONFIG_ERROR"))


def _either(workers: dict, key: str, ncap: dict, ncap_key: str, fallback: Any = None) -> Any:
    if key in workers:
        return workers[key]
    if ncap_key in ncap:
        return ncap[ncap_key]
    schema_default = default("Workers", key)
    return schema_default if schema_default is not None else fallback


def _workers(doc: dict, section: dict, ncap: dict, base_dir: Path, stage: str | None) -> Workers:
    groups = _either(section, "SecurityGroups", ncap, "SECURITY_GROUPS", [])
    return Workers(
        ami=_either(section, "AMI", ncap, "AMI"),
        instance_type=budgets.instance_type(doc),
        command=_either(section, "Command", ncap, "COMMAND"),
        min_size=int(_get(section, "Workers", "MinSize")),
        max_size=capacity.max_size(doc),
        security_groups=(groups,) if isinstance(groups, str) else tuple(groups),
        subnets=tuple(_get(section, "Workers", "Subnets")),
        key_name=_either(section, "KeyName", ncap, "KEY_NAME"),
        volume_size_gib=int(_get(section, "Workers", "VolumeSizeGiB")),
        root_device_name=images.root_device(section, _either(section, "AMI", ncap, "AMI")),
        spot=bool(_get(section, "Workers", "Spot")),
        spot_types=spot.spot_types(doc, budgets.instance_type(doc)),
        shutdown_behavior=_either(section, "ShutdownBehavior", ncap, "SHUTDOWN_BEHAVIOR", DEFAULT_SHUTDOWN),
        job_timeout=int(_either(section, "JobTimeoutSeconds", ncap, "SSM_TIMEOUT", DEFAULT_JOB_TIMEOUT)),
        log_file=ncap.get("LOGFILE", DEFAULT_LOG_FILE),
        agent_command=_get(section, "Workers", "AgentCommand"),
        launch=capacity.launches(doc),
        hourly_price_usd=budgets.hourly_price(doc),
        price_at_deploy=budgets.looked_up_at_deploy(doc),
        code=worker_code.code_folder(section, base_dir),
        image=image_build.image_build(section, base_dir, budgets.instance_type(doc), stage),
    )


def _queue(section: dict) -> Queue:
    return Queue(fifo=_get(section, "Queue", "Fifo"),
                 max_receive_count=int(_get(section, "Queue", "MaxReceiveCount")),
                 visibility_timeout=int(_get(section, "Queue", "VisibilityTimeout")),
                 message_retention=int(_get(section, "Queue", "MessageRetention")))


def _scaling(section: dict) -> Scaling:
    steps = _get(section, "Scaling", "ScaleOut")
    return Scaling(
        scale_out=tuple(ScaleStep(int(s["QueuedJobs"]), int(s["AddInstances"])) for s in steps),
        evaluation_periods=int(_get(section, "Scaling", "EvaluationPeriods")),
        period_seconds=int(_get(section, "Scaling", "PeriodSeconds")),
        scale_in_after_idle_minutes=int(_get(section, "Scaling", "ScaleInAfterIdleMinutes")),
        warmup_seconds=int(_get(section, "Scaling", "WarmupSeconds")),
        worker_idle_exit_seconds=int(_get(section, "Scaling", "WorkerIdleExitSeconds")),
        warm_pool=spot.warm_pool(section))


def _trigger(section: dict) -> Trigger:
    return Trigger(mode=_get(section, "Trigger", "Mode"),
                   suffixes=tuple(_get(section, "Trigger", "Suffixes")))


def _notifications(section: dict) -> Notifications:
    return Notifications(operator_emails=tuple(_get(section, "Notifications", "OperatorEmails")),
                         notify_labs=_get(section, "Notifications", "NotifyLabs"))


def _retention(section: dict) -> DataRetention:
    days = _get(section, "DataRetention", "ExpireNoncurrentVersionsAfterDays")
    return DataRetention(retain_bucket=_get(section, "DataRetention", "RetainBucketOnDelete"),
                         expire_noncurrent_days=int(days) if days is not None else None,
                         log_retention_days=int(_get(section, "DataRetention", "LogRetentionDays")))


def _affiliate(entry: dict) -> Affiliate:
    email = entry.get("ContactEmail")
    return Affiliate(name=entry["AffiliateName"],
                     user_names=tuple(entry.get("UserNames", [])),
                     existing_user_names=tuple(entry.get("ExistingUserNames", [])),
                     console_login=entry.get("ConsoleLogin", False),
                     max_cost=float(entry["MaxCost"]) if "MaxCost" in entry else None,
                     contact_email=email if isinstance(email, str) and document.EMAIL.fullmatch(email) else None)
