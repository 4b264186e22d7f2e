"""`ncap cost simulate`: what a pipeline's scaling would cost on a job trace (its code loads only when it runs)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .policy import P2_XLARGE_US_EAST_1_USD

DESCRIPTION = (
    "Plays a job trace (a CSV file with the columns submit_s,lab,duration_s) through a model of the "
    "pipeline's worker group as its stack_config.json sets it up: the queue, the CloudWatch alarms and step "
    "scaling, boot time and per-second billing with its 60 s minimum. Prints the cost, the part of it paid "
    "for idle instances (boots included), instance-hours, the most instances at once, the median and 95th "
    "percentile wait from upload to job start (nearest rank), and the lower bound: every job's run time at "
    "the instance price. Needs no AWS account.")


def register(commands, common) -> dict:
    cost = commands.add_parser("cost", parents=[common], help="estimate what a pipeline's scaling costs",
                               description="Cost estimates for a pipeline's worker group, offline.")
    actions = cost.add_subparsers(dest="cost_command", required=True, metavar="ACTION")
    simulate = actions.add_parser("simulate", parents=[common], help="play a job trace through the pipeline's scaling",
                                  description=DESCRIPTION)
    add = simulate.add_argument
    add("pipeline", metavar="PIPELINE_DIR|CONFIG", type=Path, help="a pipeline folder or its stack_config.json")
    add("--trace", required=True, type=Path, metavar="FILE", help="job trace CSV: submit_s,lab,duration_s")
    add("--boot-seconds", type=float, default=180.0, metavar="S",
        help="seconds from an instance's launch until it can take a job (default 180)")
    add("--hourly-price", type=float, default=P2_XLARGE_US_EAST_1_USD, metavar="USD",
        help=f"the instance type's hourly price (default {P2_XLARGE_US_EAST_1_USD:.2f}: p2.xlarge on demand in us-east-1)")
    add("--json", action="store_true", help="print the figures as one JSON object")
    add("--plot", type=Path, metavar="FILE.png", help="also draw instances and queued jobs over time (needs matplotlib)")
    return {"cost": handler}


def handler(args: argparse.Namespace) -> int:
    from ..config import load
    from .policy import policy_from_config
    from .simulate import simulate
    from .trace import read_trace

    config = load(args.pipeline / "stack_config.json" if args.pipeline.is_dir() else args.pipeline)
    result = simulate(read_trace(args.trace), policy_from_config(config, args.hourly_price), args.boot_seconds)
    if args.json:
        print(json.dumps(result.as_json(), sort_keys=True))
    else:
        print(report(config.pipeline_name, args, result))
    if args.plot:
        from .plot import plot

        plot(result, args.plot, title=f"{config.pipeline_name}: {args.trace.name}")
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def report(pipeline: str, args: argparse.Namespace, result) -> str:
    """The figures, one per line, labelled for a reader."""
    idle_share = f" ({result.idle_share:.0%} of the cost)" if result.cost_usd else ""
    return "\n".join([
        (f"{pipeline}: {result.jobs} jobs from {args.trace}, boot {args.boot_seconds:g} s, "
         f"${result.hourly_price_usd:.2f} per instance-hour"),
        f"cost:              ${result.cost_usd:.2f} ({result.cost_ratio:.2f} x the lower bound)",
        f"idle cost:         ${result.idle_usd:.2f}{idle_share}",
        f"instance-hours:    {result.instance_hours:.2f}",
        f"most instances:    {result.max_instances}",
        f"wait p50:          {result.wait_p50_s:.0f} s",
        f"wait p95:          {result.wait_p95_s:.0f} s",
        f"lower bound:       ${result.lower_bound_usd:.2f}",
    ])
