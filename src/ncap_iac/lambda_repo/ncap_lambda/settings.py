"""The submit function's settings, read from the environment the template gives it.

Read at call time (not import time), so that a warm Lambda and the tests see the current values."""
import json
import math
import os
from dataclasses import dataclass, field

MODES = ("submit", "fileset")
DEFAULT_MAX_SUBMIT_BYTES = 262144  # 256 KiB
DEFAULT_EXPECTED_JOB_MINUTES = 60.0  # NCAP's estimate of a job whose duration is unknown


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
    hourly_price_usd: float | None = None  # a worker instance's price (for the budget check)
    expected_job_minutes: float = DEFAULT_EXPECTED_JOB_MINUTES
    lab_budget_usd: float | None = None  # every lab's monthly budget, unless lab_budgets_usd has its own
    lab_budgets_usd: dict = field(default_factory=dict)  # lab -> its own monthly budget
    worker_group: str | None = None  # the auto scaling group to ask for capacity; None: ask nothing
    stages: tuple = ()  # the pipeline's stage names in order; none: one stage

    def budget_of(self, lab):
        """The lab's monthly budget in USD, or None when it has none."""
        return self.lab_budgets_usd.get(lab, self.lab_budget_usd)


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


def amount(environ, name, default=None):
    """A finite, non-negative number from the environment; `default` when unset or empty."""
    text = environ.get(name, "")
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {text!r}")
    return value


def price_sum(environ, name):
    """HOURLY_PRICE_USD: one price, or the stages' prices joined by + (some filled in at deploy)."""
    text = environ.get(name, "")
    if not text:
        return None
    return sum(amount({name: part.strip()}, name, 0.0) for part in text.split("+"))


def budgets(environ):
    """LAB_BUDGETS_USD: a JSON object of lab -> USD ({} when unset)."""
    text = environ.get("LAB_BUDGETS_USD", "")
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        found = None
    if not isinstance(found, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in found.values()):
        raise ValueError(f"LAB_BUDGETS_USD must be a JSON object of lab names to numbers, got {text[:80]!r}")
    return {str(lab): float(usd) for lab, usd in found.items()}


def read_settings(environ=None):
    """The Settings in `environ` (default: os.environ, as it is now)."""
    env = os.environ if environ is None else environ
    settings = Settings(
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
        pipeline_version=env.get("PIPELINE_VERSION") or None,
        hourly_price_usd=price_sum(env, "HOURLY_PRICE_USD"),
        expected_job_minutes=amount(env, "EXPECTED_JOB_MINUTES", DEFAULT_EXPECTED_JOB_MINUTES),
        lab_budget_usd=amount(env, "LAB_BUDGET_USD"), lab_budgets_usd=budgets(env),
        worker_group=env.get("WORKER_GROUP") or None,
        stages=tuple(name for name in env.get("STAGES", "").split(",") if name))
    if (settings.lab_budget_usd is not None or settings.lab_budgets_usd) and not settings.hourly_price_usd:
        raise ValueError("HOURLY_PRICE_USD must be set (above 0) when labs have budgets")
    return settings
