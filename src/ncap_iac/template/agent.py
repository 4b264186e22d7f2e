"""The worker agent's command line, from the config: what each instance's user data runs, and
what the local cloud starts as its worker processes (with its own local options added)."""
from __future__ import annotations

from .. import names, prices
from ..config.model import StackConfig, Stage

JOB_USER = "ncap-job"  # the unprivileged user the analysis runs as on a worker instance


def agent_arguments(config: StackConfig, queue_url: str, topic_arn: str, job_roles: str,
                    stage: Stage | None = None, next_stage: Stage | None = None,
                    next_queue_url: str = "", on_demand: bool = False, on_demand_queue_url: str = "",
                    warm_pool: bool = False) -> list[str]:
    """`worker ...` arguments (after the agent command) for a stage's job queue (the first stage's
    when none is given); `job_roles` is the ARN prefix of the labs' job roles. A stage followed by
    another hands each dataset it finishes on to `next_queue_url`. `on_demand`: the agent of a Spot
    stage's on-demand group (`queue_url` is then that group's queue); the Spot group's agents send a
    dataset interrupted too often to `on_demand_queue_url`. `warm_pool`: the group keeps one, so the
    agent takes no job before its instance is in service and says when it is ready."""
    stage = stage or config.worker_stages[0]
    w, f = stage.workers, config.folders
    return ["worker", "--queue-url", queue_url, "--bucket", config.pipeline_name, "--region", config.region,
            "--command", w.command, "--job-timeout", str(w.job_timeout), "--log-name", w.log_file,
            "--topic-arn", topic_arn, "--job-roles", job_roles,
            "--folders", ",".join((f.inputs, f.configs, f.results, f.logs)),
            "--group", names.worker_group_name(config.pipeline_name, stage.name, on_demand),
            "--lifecycle-hook", names.TERMINATING_HOOK,
            *(["--launching-hook", names.LAUNCHING_HOOK] if warm_pool else []),
            *_fallback(config, stage, on_demand, on_demand_queue_url),
            *_stage(config, stage, next_stage, next_queue_url), *_idle_exit(stage), *_ledger(stage, config.region)]


def _fallback(config: StackConfig, stage: Stage, on_demand: bool, on_demand_queue_url: str) -> list[str]:
    spot = stage.workers.spot_types
    if spot is None or on_demand:
        return []
    return ["--on-demand-queue-url", on_demand_queue_url, "--max-interruptions", str(spot.max_interruptions),
            "--on-demand-group", names.worker_group_name(config.pipeline_name, stage.name, on_demand=True)]


def _stage(config: StackConfig, stage: Stage, next_stage: Stage | None, next_queue_url: str) -> list[str]:
    if stage.name is None:
        return []
    found = ["--stage", stage.name]
    if next_stage is not None:
        found += ["--next-stage", str(next_stage.name), "--next-queue-url", next_queue_url,
                  "--next-group", names.worker_group_name(config.pipeline_name, next_stage.name)]
    return found


def _idle_exit(stage: Stage) -> list[str]:
    seconds = stage.scaling.worker_idle_exit_seconds
    return ["--idle-exit", str(seconds)] if seconds else []


PRICE_AT_DEPLOY = "@PRICE@"  # the user data puts the price parameter's value there


def _usd(price: float | None) -> str | None:
    return None if price is None else f"{price:g}"


def _ledger(stage: Stage, region: str) -> list[str]:
    """The instance's type and price, for the ledger (none when the price is unknown; a price that
    ncap deploy looks up comes from its template parameter)."""
    w = stage.workers
    if w.price_at_deploy:
        return ["--instance-type", w.instance_type, "--hourly-price-usd", PRICE_AT_DEPLOY,
                *_type_prices(w, region, PRICE_AT_DEPLOY)]
    if w.hourly_price_usd is None:
        return []
    return ["--instance-type", w.instance_type, "--hourly-price-usd", f"{w.hourly_price_usd:g}",
            *_type_prices(w, region)]


def _type_prices(w, region: str, own_price: str | None = None) -> list[str]:
    """Spot over types: each type's on-demand price from the price table (the workers' own type at
    its given price), so that an instance of any of them books its own type's price, and the
    table's Spot estimate, booked (and said so) when EC2's Spot price history cannot be read."""
    if w.spot_types is None:
        return []
    priced: dict[str, str | None] = {kind: _usd(prices.hourly_price(kind, region))
                                     for kind in w.spot_types.instance_types}
    priced[w.instance_type] = own_price or _usd(w.hourly_price_usd)  # ncap deploy's price goes in its place
    listed = []
    for kind, price in priced.items():
        if price is not None:
            spot = prices.spot_estimate(kind, region)
            listed.append(f"{kind}={price}" + (f":{spot:g}" if spot is not None else ""))
    return ["--hourly-prices", ",".join(listed)]
