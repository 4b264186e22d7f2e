"""Handing lab users their access keys: read from Secrets Manager (ncap_iac.aws.lab_keys) and
written to a file only its owner can read, in the AWS shared-credentials format, one profile per
user. Printing them instead (--stdout) is refused in CI, where output is kept in logs, unless
--force."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..aws.clients import Aws, endpoint_from
from ..aws.lab_keys import read_keys
from ..aws.stacks import describe_stack
from ..errors import NcapError
from .options import CredentialsOptions
from .target import Pipeline, load_pipeline

SUFFIX = ".credentials"  # .gitignore covers *.credentials


@dataclass(frozen=True)
class HandedOver:
    users: list[str]
    path: Path | None  # None: printed


def choose(users: tuple[str, ...], wanted: str | None, pipeline_name: str) -> list[str]:
    if wanted is None:
        if not users:
            raise NcapError(f"pipeline {pipeline_name} creates no IAM users: there are no credentials to hand over")
        return sorted(users)
    if wanted not in users:
        raise NcapError(f"{wanted}: not a user this pipeline creates (users: {', '.join(sorted(users)) or 'none'})")
    return [wanted]


def document(pipeline: Pipeline, keys: dict) -> str:
    """One profile per user, with comments a lab member can act on."""
    lines = [f"# Credentials for pipeline {pipeline.name} ({pipeline.region}). Keep this file private.",
             "# Use: AWS_SHARED_CREDENTIALS_FILE=THIS_FILE aws --profile PROFILE "
             f"s3 cp data.csv s3://{pipeline.name}/LAB/inputs/"]
    for user in sorted(keys):
        key, labs = keys[user], pipeline.config.labs_of(user)
        where = ", ".join(labs)
        lines += ["", f"# {user}, lab{'s' if len(labs) > 1 else ''} {where}: for each LAB, upload to LAB/inputs/, "
                      f"LAB/configs/, LAB/submissions/; results appear in LAB/results/",
                  f"[{pipeline.name}-{user}]",
                  f"aws_access_key_id = {key['AccessKeyId']}",
                  f"aws_secret_access_key = {key['SecretAccessKey']}",
                  f"region = {pipeline.region}"]
    return "\n".join(lines) + "\n"


def default_path(pipeline: Pipeline, user: str | None) -> Path:
    return Path(f"{pipeline.name}-{user}{SUFFIX}" if user else f"{pipeline.name}{SUFFIX}")


def write_private(path: Path, text: str) -> None:
    """Create the file readable and writable by its owner only (0600) before any secret is in it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise NcapError(f"{path}: cannot write: {exc.strerror}") from None


def refuse_printing_in_ci(options: CredentialsOptions) -> None:
    if options.stdout and os.environ.get("CI") and not options.force:
        raise NcapError("--stdout: refused because CI is set (a CI log keeps what is printed); write the keys "
                        "to a file with --out, or pass --force if this output is really private")


def hand_over(options: CredentialsOptions, say, out) -> HandedOver:
    """`ncap credentials`: the chosen users' keys into a private file (or, if asked, to `out`)."""
    refuse_printing_in_ci(options)
    pipeline = load_pipeline(options.pipeline_dir, say)
    chosen = choose(pipeline.config.created_users, options.user, pipeline.name)
    text = document(pipeline, stack_keys(pipeline, chosen, options.endpoint_url, say))
    if options.stdout:
        out.write(text)
        return HandedOver(chosen, None)
    path = options.out or default_path(pipeline, options.user)
    write_private(path, text)
    say(f"wrote the access keys of {', '.join(chosen)} to {path} (mode 0600: only you can read it); "
        f"hand it to the lab privately, then delete it")
    return HandedOver(chosen, path)


def stack_keys(pipeline: Pipeline, chosen: list[str], endpoint_flag: str | None, say) -> dict:
    aws = Aws(pipeline.region, endpoint_from(endpoint_flag))
    stack = describe_stack(aws.cloudformation, pipeline.name)
    if stack is None:
        raise NcapError(f"there is no stack {pipeline.name} in {aws.where()}: deploy it first")
    say(f"reading the keys of {len(chosen)} user(s) from Secrets Manager in {aws.where()}")
    return read_keys(aws, pipeline.name, chosen)
