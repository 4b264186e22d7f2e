"""The worker agent's command line, from the config: what each instance's user data runs, and
what the local cloud starts as its worker processes (with its own local options added)."""
from __future__ import annotations

from .. import names
from ..config.model import StackConfig

JOB_USER = "ncap-job"  # the unprivileged user the analysis runs as on a worker instance


def agent_arguments(config: StackConfig, queue_url: str, topic_arn: str, job_roles: str) -> list[str]:
    """`worker ...` arguments (after the agent command) for the pipeline's job queue; `job_roles`
    is the ARN prefix of the labs' job roles."""
    w, f = config.workers, config.folders
    return ["worker", "--queue-url", queue_url, "--bucket", config.pipeline_name, "--region", config.region,
            "--command", w.command, "--job-timeout", str(w.job_timeout), "--log-name", w.log_file,
            "--topic-arn", topic_arn, "--job-roles", job_roles,
            "--folders", ",".join((f.inputs, f.configs, f.results, f.logs)),
            "--group", names.worker_group_name(config.pipeline_name), "--lifecycle-hook", names.TERMINATING_HOOK,
            *_idle_exit(config), *_ledger(config)]


def _idle_exit(config: StackConfig) -> list[str]:
    seconds = config.scaling.worker_idle_exit_seconds
    return ["--idle-exit", str(seconds)] if seconds else []


def _ledger(config: StackConfig) -> list[str]:
    """The instance's type and price, for the ledger (none when the price is unknown)."""
    price = config.workers.hourly_price_usd
    if price is None:
        return []
    return ["--instance-type", config.workers.instance_type, "--hourly-price-usd", f"{price:g}"]
