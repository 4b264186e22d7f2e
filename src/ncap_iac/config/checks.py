"""Named cross-field checks. Each takes the raw document (schema-valid or not: they never assume
shape) and yields Issues, so that every problem in a config is reported in one run."""
from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from ..errors import Issue
from ..template import names
from .schema import did_you_mean

REGIONS = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1",
    "cn-north-1", "cn-northwest-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1",
    "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-gov-east-1",
    "us-gov-west-1", "us-west-1", "us-west-2",
)
PIPELINE_NAME_MAX = 64 - max(len(s) for s in names.FUNCTION_SUFFIXES.values())  # Lambda names allow 64
AFFILIATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
IAM_USER_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# Keys that exist both in NCAP's LambdaConfig and in the Workers section.
SHARED_WORKER_KEYS = (("AMI", "AMI"), ("INSTANCE_TYPE", "InstanceType"),
                      ("SECURITY_GROUPS", "SecurityGroups"), ("KEY_NAME", "KeyName"),
                      ("COMMAND", "Command"), ("SHUTDOWN_BEHAVIOR", "ShutdownBehavior"),
                      ("SSM_TIMEOUT", "JobTimeoutSeconds"))
UNUSED_NCAP_KEYS = {
    ("Lambda", "Launch"): "NCAP marks it not implemented; ignored",
    ("Lambda", "LambdaConfig", "IAM_ROLE"): "ignored: the stack creates a least-privilege instance role",
    ("Lambda", "LambdaConfig", "WORKING_DIRECTORY"): "NCAP marks it as not working; ignored "
                                                      "(the command runs in the job's working folder)",
}
RESERVED_AFFILIATE_NAMES = ("logs",)
UNUSED_AFFILIATE_KEYS = ("UserInput", "PipelinePath", "PipelineDir")

Check = Callable[[dict], Iterator[Issue]]


def _obj(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def lambda_config(doc: dict) -> dict:
    return _obj(_obj(doc.get("Lambda")).get("LambdaConfig"))


def affiliates(doc: dict) -> Iterator[tuple[int, dict]]:
    for index, entry in enumerate(_list(_obj(doc.get("UXData")).get("Affiliates"))):
        if isinstance(entry, dict):
            yield index, entry


def _affiliate_path(index: int, key: str) -> str:
    return f"UXData.Affiliates[{index}].{key}"


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
    ncap, workers = lambda_config(doc), _obj(doc.get("Workers"))
    for old, new in SHARED_WORKER_KEYS:
        if old in ncap and new in workers and ncap[old] != workers[new]:
            yield Issue(f"Workers.{new}", f"differs from Lambda.LambdaConfig.{old}; set it in one place")
    for old, new, what in (("AMI", "AMI", "the workers' machine image"),
                           ("COMMAND", "Command", "the analysis command the workers run")):
        if old not in ncap and new not in workers:
            yield Issue(f"Workers.{new}", f"required key is missing: {what} "
                                          f"(or Lambda.LambdaConfig.{old})")


def check_security_groups(doc: dict) -> Iterator[Issue]:
    groups = _obj(doc.get("Workers")).get("SecurityGroups", lambda_config(doc).get("SECURITY_GROUPS"))
    where = "Workers.SecurityGroups" if "SecurityGroups" in _obj(doc.get("Workers")) \
        else "Lambda.LambdaConfig.SECURITY_GROUPS"
    texts = [groups] if isinstance(groups, str) else [g for g in _list(groups) if isinstance(g, str)]
    named = [g for g in texts if not g.startswith("sg-")]
    if named and len(named) < len(texts):
        yield Issue(where, "give security group ids (sg-...) or names, not both")
    if named and _list(_obj(doc.get("Workers")).get("Subnets")):
        yield Issue(where, "security group names work only in the default VPC; with Workers.Subnets "
                           "give ids (sg-...)")


def check_affiliates(doc: dict) -> Iterator[Issue]:
    pipeline = doc.get("PipelineName") if isinstance(doc.get("PipelineName"), str) else ""
    seen: dict[str, int] = {}
    ids: dict[str, str] = {}
    for index, entry in affiliates(doc):
        name = entry.get("AffiliateName")
        if not isinstance(name, str):
            continue
        path = _affiliate_path(index, "AffiliateName")
        if not AFFILIATE_NAME.fullmatch(name):
            yield Issue(path, "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter "
                              f"or digit (got {name!r})")
            continue
        if name.lower() in RESERVED_AFFILIATE_NAMES:
            yield Issue(path, f"'{name}' is reserved: the bucket's top-level {name}/ folder holds "
                              "the pipeline's own records")
        if len(names.group_name(pipeline, name)) > 128:
            yield Issue(path, f"IAM group name '{names.group_name(pipeline, name)}' would exceed 128 characters")
        yield from _unique(seen, ids, name, index, path, names.group(name), "affiliate")


def _unique(seen: dict, ids: dict, name: str, index: int, path: str, logical: str, what: str):
    folded = name.lower()
    if folded in seen:
        yield Issue(path, f"duplicate {what} name '{name}' (IAM names ignore case; "
                          f"first used at index {seen[folded]})")
    elif logical in ids:
        yield Issue(path, f"{what} name '{name}' and '{ids[logical]}' map to the same "
                          f"resource id {logical}; rename one")
    seen.setdefault(folded, index)
    ids.setdefault(logical, name)


def check_user_names(doc: dict) -> Iterator[Issue]:
    seen: dict[str, str] = {}
    ids: dict[str, str] = {}
    for index, entry in affiliates(doc):
        for key in ("UserNames", "ExistingUserNames"):
            for position, user in enumerate(_list(entry.get(key))):
                if isinstance(user, str):
                    path = _affiliate_path(index, f"{key}[{position}]")
                    yield from _check_user(user, path, seen, ids, created=key == "UserNames")


def _check_user(user: str, path: str, seen: dict, ids: dict, created: bool) -> Iterator[Issue]:
    if not IAM_USER_NAME.fullmatch(user):
        yield Issue(path, "IAM user names are 1-64 letters, digits or + = , . @ _ - "
                          f"(got {user!r})")
        return
    folded = user.lower()
    if folded in seen:
        yield Issue(path, f"duplicate user name '{user}' (IAM user names are unique per account "
                          f"and ignore case; also at {seen[folded]})")
    elif created and names.user(user) in ids:
        yield Issue(path, f"user names '{user}' and '{ids[names.user(user)]}' map to the same "
                          f"resource id {names.user(user)}; rename one")
    seen.setdefault(folded, path)
    if created:
        ids.setdefault(names.user(user), user)


CUSTOM_RESOURCE_ANSWER_BYTES = 4096  # CloudFormation's limit on a custom resource's response
ANSWER_OVERHEAD_BYTES = 700  # status, ids, stack ARN, request id: generous upper bound


def check_credentials_answer_size(doc: dict) -> Iterator[Issue]:
    """Each lab's credentials resource answers with one secret ARN per user; CloudFormation
    refuses an answer over 4096 bytes."""
    pipeline = doc.get("PipelineName") if isinstance(doc.get("PipelineName"), str) else ""
    region = doc.get("REGION") if isinstance(doc.get("REGION"), str) else "us-east-1"
    partition = "aws-us-gov" if region.startswith("us-gov") else "aws-cn" if region.startswith("cn-") else "aws"
    for index, entry in affiliates(doc):
        users = [u for u in _list(entry.get("UserNames")) if isinstance(u, str)]
        size = ANSWER_OVERHEAD_BYTES + sum(len(names.secret_arn_attribute(u)) + 6 + len(
            f"arn:{partition}:secretsmanager:{region}:123456789012:secret:ncap/{pipeline}/keys/{u}-AbCdEf")
            for u in users)
        if size > CUSTOM_RESOURCE_ANSWER_BYTES:
            yield Issue(_affiliate_path(index, "UserNames"),
                        f"{len(users)} users are too many for one lab: the answer listing their "
                        f"secrets would be about {size} bytes and CloudFormation accepts "
                        f"{CUSTOM_RESOURCE_ANSWER_BYTES}; move some users to another lab")


def check_affiliate_has_users(doc: dict) -> Iterator[Issue]:
    for index, entry in affiliates(doc):
        if not _list(entry.get("UserNames")) and not _list(entry.get("ExistingUserNames")) \
                and isinstance(entry.get("UserNames", []), list):
            yield Issue(_affiliate_path(index, "UserNames"),
                        "the lab needs at least one user (UserNames or ExistingUserNames)")


def check_emails(doc: dict) -> Iterator[Issue]:
    notifications = _obj(doc.get("Notifications"))
    for position, email in enumerate(_list(notifications.get("OperatorEmails"))):
        if isinstance(email, str) and not EMAIL.fullmatch(email):
            yield Issue(f"Notifications.OperatorEmails[{position}]", f"not an email address: {email!r}")


def check_scaling(doc: dict) -> Iterator[Issue]:
    scaling, workers = _obj(doc.get("Scaling")), _obj(doc.get("Workers"))
    low, high = _int(workers.get("MinSize", 0)), _int(workers.get("MaxSize", 4))
    if low is not None and high is not None and low > high:
        yield Issue("Workers.MinSize", f"MinSize {low} is greater than MaxSize {high}")
    yield from _check_steps(_list(scaling.get("ScaleOut")), high)
    yield from _check_idle(scaling)


def _check_steps(steps: list, max_size: int | None) -> Iterator[Issue]:
    previous = None
    for position, step in enumerate(steps):
        jobs, add = _int(_obj(step).get("QueuedJobs")), _int(_obj(step).get("AddInstances"))
        path = f"Scaling.ScaleOut[{position}]"
        if jobs is not None and previous is not None and jobs <= previous:
            yield Issue(f"{path}.QueuedJobs", f"steps must rise: {jobs} is not above the previous "
                                              f"step's {previous}")
        if add is not None and max_size is not None and add > max_size:
            yield Issue(f"{path}.AddInstances", f"adds {add} instances but Workers.MaxSize is {max_size}")
        previous = jobs if jobs is not None else previous


def _check_idle(scaling: dict) -> Iterator[Issue]:
    period = _int(scaling.get("PeriodSeconds", 60))
    idle = _int(scaling.get("ScaleInAfterIdleMinutes", 15))
    periods = _int(scaling.get("EvaluationPeriods", 1))
    if period and idle and (idle * 60) % period:
        yield Issue("Scaling.ScaleInAfterIdleMinutes",
                    f"{idle} minutes is not a whole number of {period}-second periods")
    if period and periods and period * periods > 86400:
        yield Issue("Scaling.EvaluationPeriods", "an alarm may look back at most one day")


def check_queue(doc: dict) -> Iterator[Issue]:
    queue = _obj(doc.get("Queue"))
    retention, visibility = _int(queue.get("MessageRetention")), _int(queue.get("VisibilityTimeout"))
    if retention is not None and visibility is not None and retention < visibility:
        yield Issue("Queue.MessageRetention", f"{retention} s is shorter than VisibilityTimeout "
                                              f"{visibility} s: jobs would expire while hidden")


def check_trigger(doc: dict) -> Iterator[Issue]:
    trigger = _obj(doc.get("Trigger"))
    mode, suffixes = trigger.get("Mode", "submit"), _list(trigger.get("Suffixes"))
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
    check_pipeline_name, check_region, check_worker_settings, check_security_groups, check_affiliates, check_user_names,
    check_affiliate_has_users, check_credentials_answer_size, check_emails, check_scaling, check_queue, check_trigger, check_folders,
)


def run_checks(doc: dict) -> list[Issue]:
    return [issue for check in CHECKS for issue in check(doc)]


def warnings(doc: dict) -> list[Issue]:
    found = []
    for path, why in UNUSED_NCAP_KEYS.items():
        node: Any = doc
        for key in path:
            node = _obj(node).get(key) if key != path[-1] else node
        if path[-1] in _obj(node):
            found.append(Issue(".".join(path), why))
    for index, entry in affiliates(doc):
        found += [Issue(_affiliate_path(index, key), "NCAP marks it not implemented; ignored")
                  for key in UNUSED_AFFILIATE_KEYS if key in entry]
        email = entry.get("ContactEmail")
        if isinstance(email, str) and not EMAIL.fullmatch(email):
            found.append(Issue(_affiliate_path(index, "ContactEmail"),
                               f"not an email address, so this lab gets no notices: {email[:60]!r}"))
    return found
