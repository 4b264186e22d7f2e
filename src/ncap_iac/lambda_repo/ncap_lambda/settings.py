"""The submit function's settings, read from the environment the template gives it.

Read at call time (not import time), so that a warm Lambda and the tests see the current values."""
import os
from dataclasses import dataclass

MODES = ("submit", "fileset")
DEFAULT_MAX_SUBMIT_BYTES = 262144  # 256 KiB


@dataclass(frozen=True)
class Settings:
    bucket: str
    queue_url: str
    queue_fifo: bool
    topic_arn: str | None
    mode: str
    suffixes: tuple
    inputs: str
    configs: str
    submissions: str
    results: str
    logs: str
    max_submit_bytes: int
    default_config_name: str | None
    missing_config_error: str | None
    pipeline_version: str | None = None


def required(environ, name):
    value = environ.get(name, "")
    if not value:
        raise KeyError(f"environment variable {name} is not set")
    return value


def suffix_list(text):
    """".mp4, .hpf" -> (".mp4", ".hpf"): order kept, blanks and repeats dropped."""
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def trigger_mode(environ):
    mode = environ.get("TRIGGER_MODE", "submit") or "submit"
    if mode not in MODES:
        raise ValueError(f"TRIGGER_MODE must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def read_settings(environ=None):
    """The Settings in `environ` (default: os.environ, as it is now)."""
    env = os.environ if environ is None else environ
    return Settings(
        bucket=required(env, "BUCKET_NAME"), queue_url=required(env, "QUEUE_URL"),
        queue_fifo=env.get("QUEUE_FIFO", "false").strip().lower() == "true",
        topic_arn=env.get("TOPIC_ARN") or None, mode=trigger_mode(env),
        suffixes=suffix_list(env.get("FILESET_SUFFIXES", "")),
        inputs=env.get("INPUTS_FOLDER") or "inputs", configs=env.get("CONFIGS_FOLDER") or "configs",
        submissions=env.get("SUBMISSIONS_FOLDER") or "submissions",
        results=env.get("RESULTS_FOLDER") or "results", logs=env.get("LOGS_FOLDER") or "logs",
        max_submit_bytes=int(env.get("MAX_SUBMIT_BYTES") or DEFAULT_MAX_SUBMIT_BYTES),
        default_config_name=env.get("DEFAULT_CONFIG_NAME") or None,
        missing_config_error=env.get("MISSING_CONFIG_ERROR") or None,
        pipeline_version=env.get("PIPELINE_VERSION") or None)
