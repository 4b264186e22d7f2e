"""Named cross-field checks. Each takes the raw document (schema-valid or not: they never assume
shape) and yields Issues, so that every problem in a config is reported in one run."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from .. import names
from ..errors import Issue
from ..lambda_repo.ncap_lambda.contract import CANCEL_SUFFIX
from ..regions import REGIONS
from .access import check_access
from .budgets import check_budget_sources, check_own_budgets_size, check_price
from .capacity import check_capacity, configured_max_size
from .document import EMAIL, integer, items, lambda_config, obj
from .images import check_default_image
from .labs import check_affiliate_has_users, check_affiliates, check_user_names
from .schema import did_you_mean
from .spot import check_spot, check_warm_pool
from .stages import check_stage_names, in_stage, stage_document, stage_entries

PIPELINE_NAME_MAX = 64 - max(len(s) for s in names.FUNCTION_SUFFIXES.values())  # Lambda names allow 64
# Keys that exist both in NCAP's LambdaConfig and in the Workers section.
SHARED_WORKER_KEYS = (("AMI", "AMI"), ("INSTANCE_TYPE", "InstanceType"),
                      ("SECURITY_GROUPS", "SecurityGroups"), ("KEY_NAME", "KeyName"),
                      ("COMMAND", "Command"), ("SHUTDOWN_BEHAVIOR", "ShutdownBehavior"),
                      ("SSM_TIMEOUT", "JobTimeoutSeconds"))

Check = Callable[[dict], Iterator[Issue]]


def check_pipeline_name(doc: dict) -> Iterator[Issue]:
    name = doc.get("PipelineName")
    if not isinstance(name, str):
        return
    rules = [
        (3 <= len(name) <= PIPELINE_NAME_MAX,
         f"must be 3 to {PIPELINE_NAME_MAX} characters so that every name derived from it fits "
         f"(got {len(name)})"),
        (re.fullmatch(r"[a-z0-9-]*", name) is not None,
         "may contain only lowercase letters, digits and hyphens (it names the S3 bucket and the stack)"),
        (name[:1].isalpha(), "must start with a letter (CloudFormation stack names do)"),
        (not name.endswith("-"), "must not end with a hyphen (S3 bucket rule)"),
        (not name.startswith(("xn--", "sthree-")), "must not start with 'xn--' or 'sthree-' (reserved by S3)"),
        (not name.endswith(("-s3alias", "--ol-s3", "--x-s3")), "must not end with a suffix reserved by S3"),
    ]
    for ok, message in rules:
        if not ok:
            yield Issue("PipelineName", message)


def check_region(doc: dict) -> Iterator[Issue]:
    region = doc.get("REGION")
    if isinstance(region, str) and region not in REGIONS:
        yield Issue("REGION", f"unknown AWS region '{region}'" + did_you_mean(region, REGIONS))
    inner = lambda_config(doc).get("REGION")
    if isinstance(inner, str) and isinstance(region, str) and inner != region:
        yield Issue("Lambda.LambdaConfig.REGION", f"'{inner}' differs from REGION '{region}'")


def check_worker_settings(doc: dict) -> Iterator[Issue]:
    ncap, workers = lambda_config(doc), obj(doc.get("Workers"))
    for old, new in SHARED_WORKER_KEYS:
        if old in ncap and new in workers and ncap[old] != workers[new]:
            yield Issue(f"Workers.{new}", f"differs from Lambda.LambdaConfig.{old}; set it in one place")
    if "COMMAND" not in ncap and "Command" not in workers:
        yield Issue("Workers.Command", "required key is missing: the analysis command the workers run "
                                       "(or Lambda.LambdaConfig.COMMAND)")


def check_security_groups(doc: dict) -> Iterator[Issue]:
    groups = obj(doc.get("Workers")).get("SecurityGroups", lambda_config(doc).get("SECURITY_GROUPS"))
    where = "Workers.SecurityGroups" if "SecurityGroups" in obj(doc.get("Workers")) \
        else "Lambda.LambdaConfig.SECURITY_GROUPS"
    texts = [groups] if isinstance(groups, str) else [g for g in items(groups) if isinstance(g, str)]
    named = [g for g in texts if not g.startswith("sg-")]
    if named and len(named) < len(texts):
        yield Issue(where, "give security group ids (sg-...) or names, not both")
    if named and items(obj(doc.get("Workers")).get("Subnets")):
        yield Issue(where, "security group names work only in the default VPC; with Workers.Subnets "
                           "give ids (sg-...)")


def check_emails(doc: dict) -> Iterator[Issue]:
    notifications = obj(doc.get("Notifications"))
    for position, email in enumerate(items(notifications.get("OperatorEmails"))):
        if isinstance(email, str) and not EMAIL.fullmatch(email):
            yield Issue(f"Notifications.OperatorEmails[{position}]", f"not an email address: {email!r}")


def check_scaling(doc: dict) -> Iterator[Issue]:
    scaling, workers = obj(doc.get("Scaling")), obj(doc.get("Workers"))
    low, high = integer(workers.get("MinSize", 0)), configured_max_size(doc)
    if low is not None and high is not None and low > high:
        yield Issue("Workers.MinSize", f"MinSize {low} is greater than MaxSize {high}")
    yield from _check_steps(items(scaling.get("ScaleOut")), high)
    yield from _check_idle(scaling)


def _check_steps(steps: list, max_size: int | None) -> Iterator[Issue]:
    previous = None
    for position, step in enumerate(steps):
        jobs, add = integer(obj(step).get("QueuedJobs")), integer(obj(step).get("AddInstances"))
        path = f"Scaling.ScaleOut[{position}]"
        if jobs is not None and previous is not None and jobs <= previous:
            yield Issue(f"{path}.QueuedJobs", f"steps must rise: {jobs} is not above the previous "
                                              f"step's {previous}")
        if add is not None and max_size is not None and add > max_size:
            yield Issue(f"{path}.AddInstances", f"adds {add} instances but Workers.MaxSize is {max_size}")
        previous = jobs if jobs is not None else previous


def _check_idle(scaling: dict) -> Iterator[Issue]:
    period = integer(scaling.get("PeriodSeconds", 60))
    idle = integer(scaling.get("ScaleInAfterIdleMinutes", 15))
    periods = integer(scaling.get("EvaluationPeriods", 1))
    if period and idle and (idle * 60) % period:
        yield Issue("Scaling.ScaleInAfterIdleMinutes",
                    f"{idle} minutes is not a whole number of {period}-second periods")
    if period and periods and period * periods > 86400:
        yield Issue("Scaling.EvaluationPeriods", "an alarm may look back at most one day")


def check_queue(doc: dict) -> Iterator[Issue]:
    queue = obj(doc.get("Queue"))
    retention, visibility = integer(queue.get("MessageRetention")), integer(queue.get("VisibilityTimeout"))
    if retention is not None and visibility is not None and retention < visibility:
        yield Issue("Queue.MessageRetention", f"{retention} s is shorter than VisibilityTimeout "
                                              f"{visibility} s: jobs would expire while hidden")


def check_trigger(doc: dict) -> Iterator[Issue]:
    trigger = obj(doc.get("Trigger"))
    mode, suffixes = trigger.get("Mode", "submit"), items(trigger.get("Suffixes"))
    if mode == "fileset" and not suffixes:
        yield Issue("Trigger.Suffixes", "mode fileset needs the suffixes of a complete set, e.g. [\".mp4\", \".hpf\"]")
    if mode == "submit" and suffixes:
        yield Issue("Trigger.Suffixes", "only used with Mode \"fileset\"")
    texts = [s for s in suffixes if isinstance(s, str)]
    for position, suffix in enumerate(texts):
        for other in texts:
            if other != suffix and suffix.endswith(other):
                yield Issue(f"Trigger.Suffixes[{position}]", f"'{suffix}' ends with '{other}': S3 "
                                                             "rejects overlapping notification rules")
        if suffix and (CANCEL_SUFFIX.endswith(suffix) or suffix.endswith(CANCEL_SUFFIX)):
            yield Issue(f"Trigger.Suffixes[{position}]", f"'{suffix}' overlaps '{CANCEL_SUFFIX}', the suffix of "
                                                         "the labs' cancel requests: S3 rejects overlapping "
                                                         "notification rules")


def check_folders(doc: dict) -> Iterator[Issue]:
    ncap = lambda_config(doc)
    chosen = {"INDIR": ncap.get("INDIR", "inputs"), "OUTDIR": ncap.get("OUTDIR", "results"),
              "LOGDIR": ncap.get("LOGDIR", "logs")}
    fixed = {"configs", "submissions"}
    seen: set[str] = set()
    for key, folder in chosen.items():
        if not isinstance(folder, str):
            continue
        if folder in seen or folder in fixed:
            yield Issue(f"Lambda.LambdaConfig.{key}", f"folder name '{folder}' is already used "
                                                      "by another folder of the lab")
        seen.add(folder)


CHECKS: tuple[Check, ...] = (
    check_pipeline_name, check_region, check_worker_settings, check_default_image, check_security_groups,
    check_affiliates,
    check_user_names, check_affiliate_has_users, check_emails, check_scaling,
    check_queue, check_trigger, check_folders, check_capacity, check_budget_sources, check_price,
    check_own_budgets_size, check_stage_names, check_access, check_spot, check_warm_pool,
)
# What each stage has of its own: with Stages these run on every stage's view of the config.
STAGE_CHECKS: tuple[Check, ...] = (check_worker_settings, check_default_image, check_security_groups, check_scaling,
                                   check_queue, check_capacity, check_price, check_spot, check_warm_pool)


def run_checks(doc: dict) -> list[Issue]:
    entries = stage_entries(doc)
    if not entries:
        return [issue for check in CHECKS for issue in check(doc)]
    found = [issue for check in CHECKS if check not in STAGE_CHECKS for issue in check(doc)]
    for position, entry in enumerate(entries):
        view = stage_document(doc, entry)
        found += [in_stage(issue, position) for check in STAGE_CHECKS for issue in check(view)]
    return found


