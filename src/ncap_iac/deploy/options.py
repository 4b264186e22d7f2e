"""What the shipping commands are asked to do, as the library takes it (the CLI builds these from
its arguments; nothing below it sees argparse)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TargetOptions:
    """Where to ship: an endpoint (None: AWS, or $AWS_ENDPOINT_URL), whether to translate the SAM
    template here (None: when there is an endpoint), and the artifact bucket (None: the config's,
    else the account's default bucket)."""

    endpoint_url: str | None = None
    translate_locally: bool | None = None
    s3_bucket: str | None = None


@dataclass(frozen=True)
class AccountOptions:
    skip_check: bool = False
    allow_shared_affiliates: bool = False


@dataclass(frozen=True)
class ShipOptions:
    """`ncap build`, `package`, `deploy` and `diff`."""

    pipeline_dir: Path
    target: TargetOptions = field(default_factory=TargetOptions)
    account: AccountOptions = field(default_factory=AccountOptions)
    method: str = "sam"  # or "changeset"
    skip_build: bool = False
    yes: bool = False


@dataclass(frozen=True)
class DeleteOptions:
    pipeline_dir: Path
    target: TargetOptions = field(default_factory=TargetOptions)
    yes: bool = False


@dataclass(frozen=True)
class CredentialsOptions:
    pipeline_dir: Path
    user: str | None = None
    out: Path | None = None
    stdout: bool = False
    endpoint_url: str | None = None
    force: bool = False
