"""The agent's options, checked once at start: a wrong option is an NcapError (one clean line)."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import NcapError
from .credentials import LabFolders
from .messages import STAGE
from .placeholders import check_template

LOG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # as LambdaConfig.LOGFILE
QUEUE_URL_REGION = re.compile(r"^https://sqs[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?/")
MAX_VISIBILITY = 43200  # SQS: 12 hours
MAX_POLL = 20  # SQS long polling: at most 20 seconds
ROLE_PREFIX = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")  # a POSIX account name
# Set by the local cloud in its instances' environment: the user data's job user (made by useradd,
# fenced by iptables: stand-ins there) does not exist on the developer's machine, so jobs run as
# the developer's own user. Nothing sets it on AWS.
LOCAL_CLOUD = "NCAP_LOCAL_CLOUD"


@dataclass(frozen=True)
class Settings:
    queue_url: str
    bucket: str
    region: str
    command: str
    job_roles: str  # ARN prefix of the labs' job roles: arn:PARTITION:iam::ACCOUNT:role/PATH/
    folders: LabFolders = LabFolders()
    job_timeout: int = 86400  # 0: no limit
    log_name: str = "job_log.txt"
    workdir: Path | None = None  # None: a temporary folder, removed at exit
    command_dir: Path | None = None  # None: the job's fresh working folder
    max_jobs: int | None = None
    idle_exit: float | None = None
    concurrency: int = 1
    heartbeat: int = 60
    grace: float = 90.0
    poll_seconds: int = MAX_POLL
    topic_arn: str | None = None
    group: str | None = None  # the auto scaling group of this instance: protection and notices
    instance_id: str | None = None  # None with a group: read from the instance metadata service
    lifecycle_hook: str | None = None
    watch_seconds: float = 5.0  # interruption notices, and a running job's cancel request, looked for this often
    log_seconds: float = 10.0  # a running job's log is uploaded this often (when it grew)
    run_as: str | None = None  # the unprivileged user the command runs as (None: the agent's own)
    instance_type: str | None = None  # with hourly_price_usd: each attempt is written into the ledger
    hourly_price_usd: float | None = None
    stage: str | None = None  # the pipeline stage this agent runs (None: a pipeline of one stage)
    next_stage: str | None = None  # with next_queue_url: where a dataset goes after this stage
    next_queue_url: str | None = None
    next_group: str | None = None  # the next stage's group, asked for capacity at a hand-off
    run_as_stand_in: str | None = None  # --run-as on a local cloud instance: the user jobs would run as
    launching_hook: str | None = None  # a group with a warm pool: continued once the agent is ready
    on_demand_queue_url: str | None = None  # a Spot group's fallback for datasets interrupted too often
    on_demand_group: str | None = None  # asked for capacity when a dataset is queued for it
    max_interruptions: int = 2
    hourly_prices: dict[str, TypePrice] = field(default_factory=dict)  # --hourly-prices: type -> prices


@dataclass(frozen=True)
class TypePrice:
    """One instance type's on-demand price, and the price table's Spot estimate (None: none)."""
    on_demand_usd: float
    spot_estimate_usd: float | None = None


def hourly_prices_of(text: str | None) -> dict[str, TypePrice]:
    """--hourly-prices "g4dn.xlarge=0.526:0.21,g5.xlarge=1.006" -> {type: TypePrice}."""
    found: dict[str, TypePrice] = {}
    for part in filter(None, (text or "").split(",")):
        kind, _, prices = part.partition("=")
        on_demand, _, spot = prices.partition(":")
        try:
            price = TypePrice(float(on_demand), float(spot) if spot else None)
        except ValueError:
            raise NcapError(f"--hourly-prices: {part!r} is not TYPE=USD or TYPE=USD:SPOT_USD") from None
        numbers = (price.on_demand_usd, price.spot_estimate_usd or 0.0)
        if not INSTANCE_TYPE.match(kind) or not all(math.isfinite(n) and n >= 0 for n in numbers):
            raise NcapError(f"--hourly-prices: {part!r} is not TYPE=USD or TYPE=USD:SPOT_USD")
        found[kind] = price
    return found


def region_of(given: str | None, queue_url: str) -> str:
    """--region, else the environment's region, else the one in an AWS queue URL."""
    found = given or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    match = QUEUE_URL_REGION.match(queue_url)
    if not found and match:
        found = match.group(1)
    if not found:
        raise NcapError("no AWS region: pass --region or set AWS_DEFAULT_REGION")
    return found


def folders_of(text: str) -> LabFolders:
    try:
        return LabFolders.parse(text)
    except ValueError as error:
        raise NcapError(str(error)) from None


def from_args(args) -> Settings:
    if args.max_interruptions is not None and not args.on_demand_queue_url:
        raise NcapError("--max-interruptions needs --on-demand-queue-url (where a dataset goes once it has had them)")
    run_as, stand_in = args.run_as or None, None
    if run_as and os.environ.get(LOCAL_CLOUD) == "1":
        run_as, stand_in = None, run_as
    settings = Settings(
        queue_url=args.queue_url, bucket=args.bucket, region=region_of(args.region, args.queue_url),
        command=args.job_command, job_roles=args.job_roles, folders=folders_of(args.folders),
        job_timeout=args.job_timeout, log_name=args.log_name,
        workdir=Path(args.workdir) if args.workdir else None,
        command_dir=Path(args.command_dir).resolve() if args.command_dir else None,
        max_jobs=args.max_jobs, idle_exit=args.idle_exit, concurrency=args.concurrency,
        heartbeat=args.heartbeat, grace=args.grace, poll_seconds=args.poll_seconds,
        topic_arn=args.topic_arn or None, group=args.group or None,
        instance_id=args.instance_id or os.environ.get("NCAP_INSTANCE_ID") or None,
        lifecycle_hook=args.lifecycle_hook or None, watch_seconds=args.watch_seconds, run_as=run_as,
        log_seconds=args.log_seconds,
        instance_type=args.instance_type or None, hourly_price_usd=args.hourly_price_usd,
        stage=args.stage or None, next_stage=args.next_stage or None, next_queue_url=args.next_queue_url or None,
        next_group=args.next_group or None, run_as_stand_in=stand_in,
        launching_hook=args.launching_hook or None, on_demand_queue_url=args.on_demand_queue_url or None,
        on_demand_group=args.on_demand_group or None,
        max_interruptions=2 if args.max_interruptions is None else args.max_interruptions,
        hourly_prices=hourly_prices_of(args.hourly_prices))
    check(settings)
    return settings


def check(settings: Settings) -> None:
    """Raise NcapError naming the first option that cannot work."""
    for problem in problems(settings):
        raise NcapError(problem)
    check_template(settings.command)


# (option, Settings field, lowest, highest) of the numeric options; None: no bound
BOUNDS = (("job-timeout", "job_timeout", 0, None), ("concurrency", "concurrency", 1, None),
          ("heartbeat", "heartbeat", 2, MAX_VISIBILITY), ("grace", "grace", 0, None),
          ("poll-seconds", "poll_seconds", 1, MAX_POLL), ("max-jobs", "max_jobs", 1, None),
          ("idle-exit", "idle_exit", 0.001, None), ("watch-seconds", "watch_seconds", 0.1, None),
          ("log-seconds", "log_seconds", 0.1, None), ("max-interruptions", "max_interruptions", 0, None))


def problems(s: Settings) -> list[str]:
    found = [f"--{name}: must not be empty" for name, value in
             (("queue-url", s.queue_url), ("bucket", s.bucket), ("command", s.command))
             if not value or not value.strip()]
    if not LOG_NAME.match(s.log_name or ""):
        found.append(f"--log-name: {s.log_name!r} must be a plain file name "
                     "(letters, digits, _ . -; at most 100 characters)")
    found += bound_problems(s)
    found += identity_problems(s)
    found += stage_problems(s)
    if s.command_dir is not None and not s.command_dir.is_dir():
        found.append(f"--command-dir: {s.command_dir} is not a folder")
    return found


def bound_problems(s: Settings) -> list[str]:
    found = []
    for option, name, low, high in BOUNDS:
        value = getattr(s, name)
        if value is not None and value < low:
            found.append(f"--{option}: must be at least {low}, got {value}")
        elif value is not None and high is not None and value > high:
            found.append(f"--{option}: must be at most {high}, got {value}")
    return found


def identity_problems(s: Settings) -> list[str]:
    found = []
    if not ROLE_PREFIX.match(s.job_roles or ""):
        found.append(f"--job-roles: {s.job_roles!r} is not a role ARN prefix "
                     "(arn:aws:iam::ACCOUNT:role/PATH/, ending in /)")
    if s.run_as is not None:
        problem = run_as_problem(s.run_as)
        if problem:
            found.append(f"--run-as: {problem}")
    if s.run_as is not None and s.concurrency > 1:
        found.append("--run-as: runs one job at a time (--concurrency 1): jobs of different labs must not "
                     "share a user, who could read the other's environment")
    if (s.hourly_price_usd is None) != (s.instance_type is None):
        found.append("--instance-type and --hourly-price-usd go together (the ledger records both)")
    if s.hourly_price_usd is not None and s.hourly_price_usd < 0:
        found.append(f"--hourly-price-usd: must be at least 0, got {s.hourly_price_usd}")
    if (s.lifecycle_hook or s.instance_id or s.launching_hook) and not s.group:
        found.append("--lifecycle-hook, --launching-hook and --instance-id need --group")
    return found


def stage_problems(s: Settings) -> list[str]:
    found = [f"--{option}: {value!r} is not a stage name (letters, digits and single hyphens)"
             for option, value in (("stage", s.stage), ("next-stage", s.next_stage))
             if value is not None and not STAGE.fullmatch(value)]
    if s.on_demand_group and not s.on_demand_queue_url:
        found.append("--on-demand-group needs --on-demand-queue-url")
    if s.on_demand_queue_url is not None and s.on_demand_queue_url.endswith(".fifo") != s.queue_url.endswith(".fifo"):
        found.append("--on-demand-queue-url: must be a FIFO queue when --queue-url is one, and a standard queue "
                     "when it is not (a dataset keeps its lab's message group)")
    if (s.next_stage is None) != (s.next_queue_url is None):
        found.append("--next-stage and --next-queue-url go together")
    if (s.next_stage or s.next_group) and s.stage is None:
        found.append("--next-stage and --next-group need --stage")
    return found


def run_as_problem(user: str) -> str | None:
    """Why the agent cannot run commands as `user`, or None."""
    import pwd

    if not USER_NAME.match(user):
        return f"{user!r} is not a user name"
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return f"no user {user!r} on this machine"
    if entry.pw_uid in (0, os.geteuid()):
        return f"{user!r} must be another, unprivileged user"
    if os.geteuid() != 0:
        return "the agent must run as root to start commands as another user"
    return None
