#!/usr/bin/env python3
"""What three scaling policies cost on a month of NCAP-shaped jobs, against the lower bound.

A 30-day trace (ncap_iac.cost.workload.ncap_trace: about 310 jobs of about 1,300, 2,400 and 3,900 s
from 8 labs, in batches of 1 to 15) is played through the capacity model (ncap_iac.cost.simulate)
for three policies, all with at most 100 instances (NCAP's DEPLOY_LIMIT default) at the on-demand
price of p2.xlarge in us-east-1 ($0.90/h):

  old       today's template: step scaling +1 instance while jobs are queued (60 s period,
            1 evaluation period, 300 s warm-up), back to zero after 15 idle minutes
  per-job   NCAP: the submit function launches one instance per job; it terminates after the job
  new       the submit function asks for capacity at once (request_on_submit) and idle workers
            leave on their own (idle exit); the alarms stay as the safety net

The lower bound is every job's run time at the instance price. Targets for the new policy: at most
1.10 x the lower bound, p95 wait at most boot + 60 s. The sweep below the table plays the new policy
with other idle exits, which is how its default was chosen. Waits are from upload to job start;
percentiles are nearest-rank.

Usage: python benchmarks/scaling.py [--seed N] [--boot 180] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ncap_iac.cost.policy import P2_XLARGE_US_EAST_1_USD, RECOMMENDED_IDLE_EXIT_SECONDS, Policy
from ncap_iac.cost.simulate import simulate
from ncap_iac.cost.workload import ncap_trace

SEED = 7  # a trace of 313 jobs, near NCAP's 310
MAX_SIZE = 100
TARGET_RATIO = 1.10
TARGET_EXTRA_WAIT_S = 60.0
SWEEP_IDLE_EXIT_S = (0.0, 30.0, 60.0, 120.0, 300.0, 600.0)
PRICE = P2_XLARGE_US_EAST_1_USD


def policies(idle_exit_s: float = RECOMMENDED_IDLE_EXIT_SECONDS) -> dict[str, Policy]:
    return {
        "old": Policy(max_size=MAX_SIZE, hourly_price_usd=PRICE),
        "per-job": Policy(mode="per-job", max_size=MAX_SIZE, hourly_price_usd=PRICE),
        "new": new_policy(idle_exit_s),
    }


def new_policy(idle_exit_s: float) -> Policy:
    return Policy(max_size=MAX_SIZE, hourly_price_usd=PRICE, request_on_submit=True, idle_exit_seconds=idle_exit_s)


def figures(result) -> dict:
    return {**result.as_json(), "cost_ratio": round(result.cost_ratio, 3), "idle_share": round(result.idle_share, 3)}


def measure(seed: int, boot_s: float) -> dict:
    jobs = ncap_trace(seed)
    table = {name: figures(simulate(jobs, policy, boot_s)) for name, policy in policies().items()}
    sweep = [{"idle_exit_s": idle, **figures(simulate(jobs, new_policy(idle), boot_s))} for idle in SWEEP_IDLE_EXIT_S]
    new = table["new"]
    met = new["cost_ratio"] <= TARGET_RATIO and new["wait_p95_s"] <= boot_s + TARGET_EXTRA_WAIT_S
    return {"seed": seed, "boot_s": boot_s, "jobs": len(jobs), "max_size": MAX_SIZE, "hourly_price_usd": PRICE,
            "new_idle_exit_s": RECOMMENDED_IDLE_EXIT_SECONDS, "policies": table, "sweep": sweep, "targets_met": met}


def print_report(report: dict) -> None:
    boot = report["boot_s"]
    print(f"{report['jobs']} jobs in 30 days (seed {report['seed']}), boot {boot:g} s, "
          f"max {report['max_size']} instances, ${report['hourly_price_usd']:.2f}/h")
    print(f"{'policy':<10}{'cost / lower bound':>20}{'idle share':>12}{'wait p50':>11}{'wait p95':>11}"
          f"{'max inst.':>11}")
    for name, row in report["policies"].items():
        print(f"{name:<10}{row['cost_ratio']:>19.2f}x{row['idle_share']:>11.0%} {row['wait_p50_s']:>9.0f} s"
              f"{row['wait_p95_s']:>9.0f} s{row['max_instances']:>11}")
    lower = report["policies"]["old"]["lower_bound_usd"]
    print(f"lower bound ${lower:.2f}; new policy: request on submit, idle exit {report['new_idle_exit_s']:g} s")
    print(f"targets (new): <= {TARGET_RATIO:.2f}x and p95 <= {boot + TARGET_EXTRA_WAIT_S:g} s: "
          f"{'met' if report['targets_met'] else 'MISSED'}")
    print_sweep(report["sweep"])


def print_sweep(sweep: list[dict]) -> None:
    print("\nsweep of the new policy's idle exit")
    print(f"{'idle exit':>10}{'cost / lower bound':>20}{'idle share':>12}{'wait p50':>11}{'wait p95':>11}")
    for row in sweep:
        print(f"{row['idle_exit_s']:>8.0f} s{row['cost_ratio']:>19.3f}x{row['idle_share']:>11.1%}"
              f" {row['wait_p50_s']:>9.0f} s{row['wait_p95_s']:>9.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"trace seed (default {SEED})")
    parser.add_argument("--boot", type=float, default=180.0, help="seconds from launch to taking a job (default 180)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    report = measure(args.seed, args.boot)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
