"""The validated config as frozen dataclasses. Nothing downstream of load.py touches raw dicts."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Issue


@dataclass(frozen=True)
class Affiliate:
    name: str
    user_names: tuple[str, ...]
    existing_user_names: tuple[str, ...] = ()
    console_login: bool = False
    contact_email: str | None = None
    max_cost: float | None = None  # this lab's own monthly budget in USD (MaxCost)


@dataclass(frozen=True)
class Folders:
    """Folder names inside each affiliate's prefix."""

    inputs: str = "inputs"
    configs: str = "configs"
    submissions: str = "submissions"
    results: str = "results"
    logs: str = "logs"

    def all(self) -> tuple[str, ...]:
        return (self.inputs, self.configs, self.submissions, self.results, self.logs)


@dataclass(frozen=True)
class SubmitFunction:
    code_uri: Path | None  # the config's own code folder (absolute); None: the product's code
    handler: str
    timeout: int
    default_config_name: str | None
    missing_config_error: str | None


@dataclass(frozen=True)
class PostFunction:
    """The pipeline's post-processing function: the developer's code, run on a job's results."""

    code_uri: Path  # the developer's folder (absolute)
    handler: str  # module.function inside code_uri
    trigger: str  # runs for each job result whose key ends with this


@dataclass(frozen=True)
class Queue:
    fifo: bool
    max_receive_count: int
    visibility_timeout: int
    message_retention: int


@dataclass(frozen=True)
class CodeFolder:
    """The analysis code the workers run in: a folder beside the config (Workers.CodeUri, else
    analysis/), shipped to the instances and unpacked at `under` inside the command's folder, as
    it sits beside the config (its own name when it lies outside the config's folder)."""

    path: Path  # absolute
    under: str  # "" for the config's folder itself


@dataclass(frozen=True)
class SetupScript:
    name: str  # as the config gives it, relative to the config's folder
    text: str


@dataclass(frozen=True)
class ImageBuild:
    """Workers.Image: an image built from the pipeline folder by EC2 Image Builder."""

    parent: str  # an AMI id, or ssm:PARAMETER
    setup: tuple[SetupScript, ...]
    build_instance_type: str
    sample: Path  # the folder the new image's test runs the command on


@dataclass(frozen=True)
class SpotTypes:
    """Workers.Spot as an object: Spot over several instance types, and an on-demand group of the
    stage for the datasets Spot interrupted max_interruptions times."""

    instance_types: tuple[str, ...]  # the mixed instances policy's overrides, the workers' own type first
    max_interruptions: int = 2
    on_demand_base: int = 0  # OnDemandBaseCapacity of the Spot group


@dataclass(frozen=True)
class WarmPool:
    """Scaling.WarmPool: instances kept stopped (or hibernated) beside the group."""

    size: int
    state: str = "Stopped"  # or "Hibernated"


@dataclass(frozen=True)
class Workers:
    ami: str | None  # None: the default image for the instance type (ncap_iac/images.py)
    instance_type: str
    command: str
    min_size: int
    max_size: int
    security_groups: tuple[str, ...]
    subnets: tuple[str, ...]
    key_name: str | None
    volume_size_gib: int
    root_device_name: str
    spot: bool
    shutdown_behavior: str
    job_timeout: int
    log_file: str
    agent_command: str
    launch: bool = True  # NCAP's LAUNCH: false compiles to max_size 0
    hourly_price_usd: float | None = None  # Workers.HourlyPriceUSD, else the price table's; None: unknown
    price_at_deploy: bool = False  # budgets need the price, which the table lacks: ncap deploy looks it up
    code: CodeFolder | None = None  # None: the command runs in the job's own empty folder
    image: ImageBuild | None = None  # Workers.Image: built by Image Builder (then ami is None)
    spot_types: SpotTypes | None = None  # Workers.Spot as an object (then spot is True); None: one type

    @property
    def on_demand_fallback(self) -> bool:
        """The stage has an on-demand group for the datasets Spot interrupted too often."""
        return self.spot_types is not None


@dataclass(frozen=True)
class ScaleStep:
    queued_jobs: int
    add_instances: int


@dataclass(frozen=True)
class Scaling:
    scale_out: tuple[ScaleStep, ...]
    evaluation_periods: int
    period_seconds: int
    scale_in_after_idle_minutes: int
    warmup_seconds: int
    worker_idle_exit_seconds: int = 30  # 0: workers never leave by themselves
    warm_pool: WarmPool | None = None  # on the on-demand group when the workers are Spot (AWS allows no other)


@dataclass(frozen=True)
class Stage:
    """One stage of the analysis, on workers of its own (Stages[]; not NCAP's STAGE, which is
    StackConfig.stage). `name` None: the only stage of a config without Stages, whose resources
    keep their one-stage names."""
    name: str | None
    workers: Workers
    queue: Queue
    scaling: Scaling

    @property
    def capacities(self) -> tuple[bool, ...]:
        """The stage's groups, each as `on_demand`: (False,) its own; (False, True) with its on-demand
        group too (Spot over types)."""
        return (False, True) if self.workers.on_demand_fallback else (False,)


@dataclass(frozen=True)
class Trigger:
    mode: str  # "submit" or "fileset"
    suffixes: tuple[str, ...]


@dataclass(frozen=True)
class Notifications:
    operator_emails: tuple[str, ...]
    notify_labs: bool


@dataclass(frozen=True)
class Budgets:
    per_lab_monthly_usd: float | None = None  # every lab's budget unless its MaxCost sets one; None: none
    expected_job_minutes: float = 60.0


@dataclass(frozen=True)
class DataRetention:
    retain_bucket: bool
    expire_noncurrent_days: int | None
    log_retention_days: int


@dataclass(frozen=True)
class StackConfig:
    pipeline_name: str
    region: str
    submit: SubmitFunction
    workers: Workers
    queue: Queue
    scaling: Scaling
    trigger: Trigger
    notifications: Notifications
    retention: DataRetention
    folders: Folders
    affiliates: tuple[Affiliate, ...]
    artifact_bucket: str | None = None
    stage: str = "develop"
    pipeline_version: str | None = None
    monitor: bool = True
    requirements: Path | None = None  # the config's Lambda requirements file, when it exists
    budgets: Budgets = field(default_factory=Budgets)
    stages: tuple[Stage, ...] = ()  # Stages as given; workers, queue and scaling are the first's
    post: PostFunction | None = None  # Lambda.PostCodeUri/PostHandler; None: not configured
    source: Path | None = None
    warnings: tuple[Issue, ...] = field(default=(), compare=False)
    notes: tuple[Issue, ...] = field(default=(), compare=False)  # what NCAP keys mean here
    directory: str | None = None  # Access.Directory: the labs' people sign in there, no IAM users

    @property
    def uses_directory(self) -> bool:
        return self.directory is not None

    @property
    def worker_stages(self) -> tuple[Stage, ...]:
        """The stages in order: the config's Stages, or its one unnamed stage."""
        return self.stages or (Stage(None, self.workers, self.queue, self.scaling),)

    @property
    def artifact_folders(self) -> tuple[tuple[Path, str], ...]:
        """(folder, its name in the archive) of what the instances get from the artifact bucket
        besides the agent: every stage's analysis code, and the sample each built image is tested
        on; each once."""
        code = [(s.workers.code.path, s.workers.code.under) for s in self.worker_stages if s.workers.code]
        samples = [(s.workers.image.sample, "sample") for s in self.worker_stages if s.workers.image]
        return tuple(dict.fromkeys(code + samples))

    @property
    def created_users(self) -> tuple[str, ...]:
        """Every user the pipeline creates, once, in the order the labs first list them (none when
        the labs' people sign in to a directory: their UserNames are invitations)."""
        if self.directory is not None:
            return ()
        return tuple(dict.fromkeys(u for a in self.affiliates for u in a.user_names))

    def lab_budget(self, affiliate: Affiliate) -> float | None:
        """The lab's monthly budget in USD: its own MaxCost, else the per-lab one; None: not limited."""
        return affiliate.max_cost if affiliate.max_cost is not None else self.budgets.per_lab_monthly_usd

    @property
    def has_budgets(self) -> bool:
        return any(self.lab_budget(a) is not None for a in self.affiliates)

    @property
    def pipeline_budget_usd(self) -> float | None:
        """The sum of the labs' budgets, when every lab has one (else None: no total to watch)."""
        found = [self.lab_budget(a) for a in self.affiliates]
        return sum(b for b in found if b is not None) if found and None not in found else None

    def labs_of(self, user: str) -> tuple[str, ...]:
        return tuple(a.name for a in self.affiliates if user in (*a.user_names, *a.existing_user_names))
