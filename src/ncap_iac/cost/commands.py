"""`ncap cost simulate | estimate | report`: what a pipeline's scaling costs, offline, and what its
labs spent this month. The code of an action loads only when it runs. `report` reads the deployed
stack, so its handler lives in deploy/ (ncap_iac.deploy.commands registers it under the key
"cost report"); this module only declares its arguments."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SIMULATE = (
    "Plays a job trace (a CSV file with the columns submit_s,lab,duration_s) through a model of the "
    "pipeline's worker group as its stack_config.json sets it up: the queue, the submit function's capacity "
    "request, the CloudWatch alarms and step scaling, boot time and per-second billing with its 60 s minimum. "
    "Prints the cost, the part of it paid for idle instances (boots included), instance-hours, the most "
    "instances at once, the median and 95th percentile wait from upload to job start (nearest rank), and the "
    "lower bound: every job's run time at the instance price. Needs no AWS account.")
ESTIMATE = (
    "A month's cost for a simple workload: --jobs-per-month jobs of --minutes each, submitted --batch at a time, "
    "the submissions evenly spread over 30 days. The month is played through the same simulator as `ncap cost "
    "simulate` (not a closed form), so boots, idle minutes and the 60 s billing minimum are in the figure. A "
    "submission finds a warm instance only when it comes before the last one's instances leave; bursts of work "
    "cost less per job than the same work spread out. Needs no AWS account.")
REPORT = (
    "Per lab: what its finished jobs cost this month (the ledger in the pipeline bucket of the deployed stack), "
    "its monthly budget and how many jobs it ran. --json prints "
    '{"month": ..., "labs": {LAB: {"spent_usd": ..., "budget_usd": ..., "jobs": ...}}}.')
ENDPOINT_HELP = ("send every AWS call to this endpoint, e.g. an emulator http://localhost:5000 "
                 "(default: $AWS_ENDPOINT_URL)")
BOOT_HELP = "seconds from an instance's launch until it can take a job (default 180)"
PRICE_HELP = ("the instance type's hourly price in USD (default: Workers.HourlyPriceUSD, else the price table's "
              "on-demand price for the type in the region)")
CAPACITY = (
    " With Workers.Spot the group is Spot: billed at --spot-price-ratio of the on-demand price, interrupted "
    "--interruptions-per-hour times per Spot instance-hour (a Poisson process drawn from --seed: the same seed "
    "gives the same figures), each interrupted job queued again and, with Spot as an object, sent to the stage's "
    "on-demand group after MaxInterruptions; with Scaling.WarmPool a scale-out takes stopped pool instances first, "
    "which take a job --warm-start-seconds after, and the pool's volumes are paid. --json then also gives "
    "spot_price_ratio, interruptions, on_demand_fallbacks, jobs_lost, interrupted_jobs_finished_on, "
    "most_interruptions_of_a_job, fallen_back_jobs_finished_on_spot and warm_pool_volume_usd. lower_bound_usd "
    "stays every job's run time at the on-demand price.")


def add_capacity_flags(add) -> None:
    """The Spot and warm-pool flags of `simulate` and `estimate`."""
    add("--spot-price-ratio", type=bounded(float, 0, 1, above=True), metavar="R",
        help="Spot price as a share of the on-demand price, above 0 and at most 1 (default: the price table's Spot "
             "estimate for the workers' first type over its on-demand price; 1 when the table has none). Needs "
             "Workers.Spot")
    add("--interruptions-per-hour", type=bounded(float, 0, 10), default=0.0, metavar="N",
        help="Spot interruptions per Spot instance-hour, 0 to 10 (default 0). Needs Workers.Spot")
    add("--seed", type=bounded(int, 0, 2**32 - 1), default=0, metavar="N",
        help="seed of the interruptions' random draws (default 0): the same seed, the same figures")
    add("--warm-start-seconds", type=bounded(float, 0, 3600), default=40.0, metavar="S",
        help="seconds from taking a warm-pool instance until it can take a job (default 40). Needs Scaling.WarmPool")


def bounded(kind, low: float, high: float, above: bool = False):
    """An argparse type: a number of `kind` in [low, high] (or (low, high] when `above`)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {'whole ' if kind is int else ''}number: {text!r}") from None
        if not (low < value <= high if above else low <= value <= high) or value != value:
            raise argparse.ArgumentTypeError(f"must be {'above' if above else 'at least'} {low:g} and at most "
                                             f"{high:g}, got {text}")
        return value
    return parse


def register(commands, common) -> dict:
    cost = commands.add_parser("cost", parents=[common], help="what a pipeline costs: simulate, estimate, report",
                               description="Cost estimates for a pipeline's worker group, and its labs' spend.")
    actions = cost.add_subparsers(dest="cost_command", required=True, metavar="ACTION")
    _simulate_parser(actions, common)
    _estimate_parser(actions, common)
    report = actions.add_parser("report", parents=[common], help="each lab's spend this month, against its budget",
                                description=REPORT)
    report.add_argument("pipeline_dir", type=Path, metavar="PIPELINE_DIR", help="folder holding stack_config.json")
    report.add_argument("--month", metavar="YYYY-MM", help="the month to report (default: this month, UTC)")
    report.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    report.add_argument("--endpoint-url", metavar="URL", help=ENDPOINT_HELP)
    report.add_argument("--local-state", nargs="?", const="", metavar="DIR",
                        help="read the pipeline's running local cloud (its endpoint and administrator keys from "
                             "local.json in DIR; default: the pipeline folder's .ncap/local)")
    report.set_defaults(dispatch="cost report")
    return {"cost": handler}


def _simulate_parser(actions, common) -> None:
    simulate = actions.add_parser("simulate", parents=[common], description=SIMULATE + CAPACITY,
                                  help="play a job trace through the pipeline's scaling")
    add = simulate.add_argument
    add("pipeline", metavar="PIPELINE_DIR|CONFIG", type=Path, help="a pipeline folder or its stack_config.json")
    add("--trace", required=True, type=Path, metavar="FILE", help="job trace CSV: submit_s,lab,duration_s")
    add("--boot-seconds", type=bounded(float, 0, 3600), default=180.0, metavar="S", help=BOOT_HELP)
    add("--hourly-price", type=bounded(float, 0, 1000, above=True), metavar="USD", help=PRICE_HELP)
    add_capacity_flags(add)
    add("--json", action="store_true", help="print the figures as one JSON object")
    add("--plot", type=Path, metavar="FILE.png",
        help="also draw instances and queued jobs over time (needs matplotlib)")


def _estimate_parser(actions, common) -> None:
    estimate = actions.add_parser("estimate", parents=[common], help="a month's cost for a simple workload",
                                  description=ESTIMATE + CAPACITY)
    add = estimate.add_argument
    add("pipeline", metavar="PIPELINE_DIR|CONFIG", type=Path, help="a pipeline folder or its stack_config.json")
    add("--jobs-per-month", required=True, type=bounded(int, 1, 20000), metavar="N", help="jobs (datasets) a month")
    add("--minutes", required=True, type=bounded(float, 0, 10080, above=True), metavar="M",
        help="minutes one job runs once it has an instance")
    add("--batch", type=bounded(int, 1, 100), default=1, metavar="B",
        help="jobs submitted together, as one submission's datasets (default 1)")
    add("--boot-seconds", type=bounded(float, 0, 3600), default=180.0, metavar="S", help=BOOT_HELP)
    add("--hourly-price", type=bounded(float, 0, 1000, above=True), metavar="USD", help=PRICE_HELP)
    add_capacity_flags(add)
    add("--json", action="store_true", help="print the figures as one JSON object")


def capacity(config, args: argparse.Namespace):
    """The config's Spot group and warm pool with the flags' figures; a flag the config has no use for is refused."""
    from ..errors import NcapError
    from .fleet import capacity_from_config

    if not config.workers.spot:
        for flag, given in (("--spot-price-ratio", args.spot_price_ratio is not None),
                            ("--interruptions-per-hour", args.interruptions_per_hour != 0)):
            if given:
                raise NcapError(f"{flag}: the pipeline's workers are on-demand (Workers.Spot is not set)")
    return capacity_from_config(config, args.spot_price_ratio, args.interruptions_per_hour, args.seed,
                                args.warm_start_seconds)


def load_config(path: Path):
    from ..config import load

    return load(path / "stack_config.json" if path.is_dir() else path)


def handler(args: argparse.Namespace) -> int:
    if args.cost_command == "estimate":
        return _estimate(args)
    return _simulate(args)


def _simulate(args: argparse.Namespace) -> int:
    from .policy import policy_from_config
    from .simulate import simulate
    from .trace import read_trace

    config = load_config(args.pipeline)
    fleet = capacity(config, args)
    result = simulate(read_trace(args.trace), policy_from_config(config, args.hourly_price), args.boot_seconds,
                      fleet.spot, fleet.warm_pool)
    if args.json:
        print(json.dumps(result.as_json(), sort_keys=True))
    else:
        print(report(config.pipeline_name, args, result, fleet))
    if args.plot:
        from .plot import plot

        plot(result, args.plot, title=f"{config.pipeline_name}: {args.trace.name}")
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _estimate(args: argparse.Namespace) -> int:
    from .estimate import Workload, estimate, estimate_lines

    config = load_config(args.pipeline)
    workload = Workload(args.jobs_per_month, args.minutes, args.batch, args.boot_seconds)
    found = estimate(config, workload, args.hourly_price, capacity(config, args))
    print(json.dumps(found.as_json(), sort_keys=True) if args.json else "\n".join(estimate_lines(found)))
    return 0


def report(pipeline: str, args: argparse.Namespace, result, fleet=None) -> str:
    """The figures, one per line, labelled for a reader; with Spot or a warm pool, lines on them after."""
    from .fleet import capacity_lines

    idle_share = f" ({result.idle_share:.0%} of the cost)" if result.cost_usd else ""
    extra = capacity_lines(fleet, result) if fleet is not None else []
    return "\n".join([
        (f"{pipeline}: {result.jobs} jobs from {args.trace}, boot {args.boot_seconds:g} s, "
         f"${result.hourly_price_usd:g} per instance-hour"),
        f"cost:              ${result.cost_usd:.2f} ({result.cost_ratio:.2f} x the lower bound)",
        f"idle cost:         ${result.idle_usd:.2f}{idle_share}",
        f"instance-hours:    {result.instance_hours:.2f}",
        f"most instances:    {result.max_instances}",
        f"wait p50:          {result.wait_p50_s:.0f} s",
        f"wait p95:          {result.wait_p95_s:.0f} s",
        f"lower bound:       ${result.lower_bound_usd:.2f}",
        *extra,
    ])
