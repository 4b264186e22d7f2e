"""The worker agent's command line, from the config: what each instance's user data runs, and
what the local cloud starts as its worker processes (with its own local options added)."""
from __future__ import annotations

from ..config.model import StackConfig


def agent_arguments(config: StackConfig, queue_url: str, topic_arn: str) -> list[str]:
    """`worker ...` arguments (after the agent command) for the pipeline's job queue."""
    w = config.workers
    return ["worker", "--queue-url", queue_url, "--bucket", config.pipeline_name, "--region", config.region,
            "--command", w.command, "--job-timeout", str(w.job_timeout), "--log-name", w.log_file,
            "--topic-arn", topic_arn]
