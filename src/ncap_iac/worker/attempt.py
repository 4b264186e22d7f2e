"""One attempt at a task, in its working folder: download, run the command (its log going up as it
grows, and stopped if its lab cancels the job: watch.py), upload the outputs and the log. Never
raises for the job's own failures: they come back as an Attempt with a reason. A cancelled command's
outputs so far are uploaded too (the attempt is `cancelled`, its outputs partial)."""
from __future__ import annotations

from dataclasses import dataclass

from ..lambda_repo.ncap_lambda.contract import job_log_key
from . import runner, storage, workspace
from .aws import describe
from .credentials import CredentialsError
from .placeholders import command_argv
from .storage import TransferError, Uploaded
from .watch import CANCELLED_REASON, JobWatch


@dataclass(frozen=True)
class Attempt:
    ok: bool
    reason: str | None = None  # short: for logs, notices and last_error
    detail: str | None = None  # the reason with the last lines of output: for status.json
    interrupted: bool = False
    command_seconds: float = 0.0
    uploaded: Uploaded | None = None
    cancelled: bool = False


def log_key(task, settings, several: bool) -> str:
    """Where the job log goes (the lab's logs folder); a job of several datasets has one log per
    dataset, and a pipeline of stages one per stage."""
    log_name = settings.log_name
    if task.stage:
        log_name = f"{task.stage}-{log_name}"
    if several:
        log_name = f"{task.dataname.rsplit('/', 1)[-1]}-{log_name}"
    return job_log_key(task.affiliate, settings.folders.logs, task.job_id, log_name)


def execute(ctx, s3, task, space, key: str, fetching: workspace.Fetch, assuming: workspace.Assume) -> Attempt:
    problem = prepared(fetching, assuming)
    if problem is not None:
        runner.note(space.log, problem)
        return with_log(s3, task, space, key, Attempt(False, problem, problem))
    token = ctx.endpoint.register(assuming.credentials())
    settings = ctx.settings
    try:
        with JobWatch(s3, task, space.log, key, settings.log_seconds, settings.watch_seconds,
                      job_id=task.job_id, affiliate=task.affiliate, dataset=task.dataname) as watching:
            run = run_command(ctx, task, space, token, watching.cancel)
    finally:
        ctx.endpoint.withdraw(token)
    if run.cancelled:
        runner.note(space.log, f"{CANCELLED_REASON} after {run.seconds:.1f} s; the outputs written so far are kept")
        kept = upload(s3, task, space, key, run)
        return Attempt(False, CANCELLED_REASON, CANCELLED_REASON, command_seconds=run.seconds,
                       uploaded=kept.uploaded, cancelled=True)
    if not run.ok:
        reason = run_reason(run, ctx.settings.job_timeout)
        detail = with_tail(reason, runner.tail(space.log))
        runner.note(space.log, reason)
        return with_log(s3, task, space, key, Attempt(
            False, reason, detail, interrupted=run.interrupted, command_seconds=run.seconds))
    runner.note(space.log, f"exit code 0 after {run.seconds:.1f} s")
    return upload(s3, task, space, key, run)


def prepared(fetching: workspace.Fetch, assuming: workspace.Assume) -> str | None:
    """Why the command cannot run (a download failed, the job role could not be assumed), or None."""
    error = fetching.wait() or assuming.wait()
    if error is None:
        return None
    if isinstance(error, (TransferError, CredentialsError)):
        return str(error)
    return f"cannot download: {describe(error)}"


def run_command(ctx, task, space, token: str, cancel: runner.Interrupt | None = None) -> runner.Run:
    settings = ctx.settings
    argv = command_argv(settings.command, workspace.values(task))
    cwd = settings.command_dir or space.root
    env = workspace.environment(task, space, ctx.endpoint.url, token, settings.region)
    return runner.run(argv, env, cwd, space.log, settings.job_timeout, ctx.interrupt, settings.run_as, cancel)


def upload(s3, task, space, key: str, run: runner.Run) -> Attempt:
    try:
        uploaded = storage.upload_outputs(s3, task.bucket, task.output_path, space.output_dir)
        storage.upload_log(s3, task.bucket, key, space.log)
    except TransferError as error:
        return Attempt(False, str(error), str(error), command_seconds=run.seconds)
    return Attempt(True, command_seconds=run.seconds, uploaded=uploaded)


def with_log(s3, task, space, key: str, attempt: Attempt) -> Attempt:
    """Upload the log of a failed attempt too, so that the lab sees why; a failure is noted."""
    try:
        storage.upload_log(s3, task.bucket, key, space.log)
    except TransferError as error:
        return Attempt(attempt.ok, attempt.reason, f"{attempt.detail}\n({error})",
                       attempt.interrupted, attempt.command_seconds)
    return attempt


def run_reason(run: runner.Run, timeout: float) -> str:
    if run.interrupted:
        return run.interrupted_by or "the worker was stopped"
    if run.timed_out:
        return f"timed out after {timeout:g} s"
    if run.exit_code is not None and run.exit_code < 0:
        return f"the command was killed by signal {-run.exit_code}"
    return f"the command exited with code {run.exit_code}"


def with_tail(reason: str, tail: str) -> str:
    return f"{reason}; last lines of output:\n{tail}" if tail.strip() else f"{reason} (no output)"
