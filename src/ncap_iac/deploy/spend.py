"""`ncap cost report`: what each lab's finished jobs cost in a month, against its budget.

Reads the ledger (ncap_lambda/ledger.py: `ledger/<YYYY-MM>/<lab>/...`, written by the worker agent) in the
bucket of the deployed stack, which the stack's BucketName output (else its PipelineBucket resource)
names. Labs are the config's, and any other the month's ledger holds (a lab since removed), which
has no budget. The config is read, not compiled: nothing is written."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import names
from ..aws.clients import Aws, endpoint_from
from ..aws.errors import aws_errors, explain
from ..aws.stacks import describe_stack, outputs, stack_resources
from ..config import load
from ..errors import NcapError
from ..lambda_repo.ncap_lambda.ledger import MONTH, current_month, entry_cost, ledger_prefix, month_entries
from .target import config_path


@dataclass(frozen=True)
class LabSpend:
    spent_usd: float
    budget_usd: float | None
    jobs: int

    def as_json(self) -> dict:
        """Unrounded: a second of the smallest instance is about $0.000003 (the table rounds)."""
        return {"spent_usd": self.spent_usd, "budget_usd": self.budget_usd, "jobs": self.jobs}


@dataclass(frozen=True)
class SpendReport:
    pipeline: str
    bucket: str
    where: str
    month: str
    labs: dict[str, LabSpend] = field(default_factory=dict)
    unreadable: int = 0  # ledger objects that are not entries (counted as nothing)

    def as_json(self) -> dict:
        return {"month": self.month, "labs": {lab: spent.as_json() for lab, spent in self.labs.items()}}


def spend(folder: Path, month: str | None, endpoint_flag: str | None, say,
          local_state: str | None = None) -> SpendReport:
    config = load(config_path(folder))
    month = month or current_month()
    if not MONTH.match(month):
        raise NcapError(f"--month: a month is YYYY-MM, like 2026-03 (got {month!r})")
    aws = local_cloud(folder, local_state, config.region) if local_state is not None else \
        Aws(config.region, endpoint_from(endpoint_flag))
    bucket = pipeline_bucket(aws, config.pipeline_name)
    budgets = {a.name: config.lab_budget(a) for a in config.affiliates}
    labs, unreadable = {}, 0
    for lab in [*budgets, *sorted(set(ledger_labs(aws, bucket, month)) - set(budgets))]:
        entries, bad = _entries(aws, bucket, lab, month)
        labs[lab] = LabSpend(sum(entry_cost(e) for e in entries), budgets.get(lab),
                             len({e.get("job_id") for e in entries if e.get("job_id")}))
        unreadable += len(bad)
    if unreadable:
        say(f"warning: {unreadable} object(s) under s3://{bucket}/{ledger_prefix(month)} are not ledger entries "
            f"and count nothing")
    return SpendReport(config.pipeline_name, bucket, aws.where(), month, labs, unreadable)


def local_cloud(folder: Path, given: str, region: str) -> Aws:
    """The running local cloud of the pipeline, as its administrator (from its local.json)."""
    state = Path(given) if given else Path(folder) / names.LOCAL_STATE_FOLDER
    try:
        info = json.loads((state / "local.json").read_text(encoding="utf-8"))
        keys = (info["admin"]["access_key_id"], info["admin"]["secret_access_key"])
        return Aws(info.get("region", region), info["endpoint_url"], keys)
    except FileNotFoundError:
        raise NcapError(f"--local-state: no local cloud runs from {state} (ncap local up {folder})") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NcapError(f"--local-state: {state / 'local.json'} is unreadable ({exc})") from None


def pipeline_bucket(aws: Aws, stack_name: str) -> str:
    stack = describe_stack(aws.cloudformation, stack_name)
    if stack is None:
        raise NcapError(f"there is no stack {stack_name} in {aws.where()}: deploy it first")
    bucket = outputs(stack).get(names.BUCKET_OUTPUT) or \
        stack_resources(aws.cloudformation, stack_name).get(names.BUCKET)
    if not bucket:
        raise NcapError(f"stack {stack_name} in {aws.where()} has no pipeline bucket ({names.BUCKET})")
    return bucket


def ledger_labs(aws: Aws, bucket: str, month: str) -> list[str]:
    """The labs with entries in the month, from the ledger's folders."""
    prefix = ledger_prefix(month)
    try:
        pages = aws.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
        return [p["Prefix"][len(prefix):].rstrip("/") for page in pages for p in page.get("CommonPrefixes", [])]
    except aws_errors() as exc:
        raise explain(exc, f"cannot list s3://{bucket}/{prefix}") from None


def _entries(aws: Aws, bucket: str, lab: str, month: str) -> tuple[list, list]:
    try:
        return month_entries(aws.s3, bucket, lab, month)
    except aws_errors() as exc:
        raise explain(exc, f"cannot read s3://{bucket}/{ledger_prefix(month, lab)}") from None


def lines(report: SpendReport) -> list[str]:
    """A table a person reads: one lab a line, then the total."""
    width = max([len("lab"), *(len(lab) for lab in report.labs)])
    found = [f"{report.pipeline}, {report.month} (s3://{report.bucket}/{ledger_prefix(report.month)} in "
             f"{report.where}):", f"  {'lab':<{width}}  {'spent':>12}  {'budget':>12}  {'left':>12}  jobs"]
    for lab, spent in report.labs.items():
        budget = "-" if spent.budget_usd is None else f"${spent.budget_usd:,.2f}"
        left = "-" if spent.budget_usd is None else f"${spent.budget_usd - spent.spent_usd:,.2f}"
        found.append(f"  {lab:<{width}}  {'$' + format(spent.spent_usd, ',.2f'):>12}  {budget:>12}  {left:>12}  "
                     f"{spent.jobs}")
    total = sum(spent.spent_usd for spent in report.labs.values())
    found.append(f"  {'total':<{width}}  {'$' + format(total, ',.2f'):>12}")
    return found
