"""One attempt at a task, in its working folder: download, run the command, upload the outputs
and the log. Never raises for the job's own failures: they come back as an Attempt with a reason."""
from __future__ import annotations

from dataclasses import dataclass

from . import runner, storage, workspace
from .aws import describe
from .placeholders import command_argv
from .storage import TransferError, Uploaded


@dataclass(frozen=True)
class Attempt:
    ok: bool
    reason: str | None = None  # short: for logs, notices and last_error
    detail: str | None = None  # the reason with the last lines of output: for status.json
    interrupted: bool = False
    command_seconds: float = 0.0
    uploaded: Uploaded | None = None


def log_key(task, log_name: str, several: bool) -> str:
    """Where the job log goes; a job of several datasets has one log per dataset."""
    if several:
        log_name = f"{task.dataname.rsplit('/', 1)[-1]}-{log_name}"
    return task.logs_prefix + log_name


def execute(ctx, task, space, key: str, fetching: workspace.Fetch) -> Attempt:
    error = fetching.wait()
    if error is not None:
        reason = str(error) if isinstance(error, TransferError) else f"cannot download: {describe(error)}"
        runner.note(space.log, reason)
        return with_log(ctx, task, space, key, Attempt(False, reason, reason))
    run = run_command(ctx, task, space)
    if not run.ok:
        reason = run_reason(run, ctx.settings.job_timeout)
        detail = with_tail(reason, runner.tail(space.log))
        runner.note(space.log, reason)
        return with_log(ctx, task, space, key, Attempt(
            False, reason, detail, interrupted=run.interrupted, command_seconds=run.seconds))
    runner.note(space.log, f"exit code 0 after {run.seconds:.1f} s")
    return upload(ctx, task, space, key, run)


def run_command(ctx, task, space) -> runner.Run:
    settings = ctx.settings
    argv = command_argv(settings.command, workspace.values(task))
    cwd = settings.command_dir or space.root
    return runner.run(argv, workspace.environment(task, space), cwd, space.log,
                      settings.job_timeout, ctx.interrupt)


def upload(ctx, task, space, key: str, run: runner.Run) -> Attempt:
    s3 = ctx.clients.s3
    try:
        uploaded = storage.upload_outputs(s3, task.bucket, task.resultpath, space.output_dir)
        storage.upload_log(s3, task.bucket, key, space.log)
    except TransferError as error:
        return Attempt(False, str(error), str(error), command_seconds=run.seconds)
    return Attempt(True, command_seconds=run.seconds, uploaded=uploaded)


def with_log(ctx, task, space, key: str, attempt: Attempt) -> Attempt:
    """Upload the log of a failed attempt too, so that the lab sees why; a failure is noted."""
    try:
        storage.upload_log(ctx.clients.s3, task.bucket, key, space.log)
    except TransferError as error:
        return Attempt(attempt.ok, attempt.reason, f"{attempt.detail}\n({error})",
                       attempt.interrupted, attempt.command_seconds)
    return attempt


def run_reason(run: runner.Run, timeout: float) -> str:
    if run.interrupted:
        return "the worker was stopped (SIGTERM) and its grace period ran out"
    if run.timed_out:
        return f"timed out after {timeout:g} s"
    if run.exit_code is not None and run.exit_code < 0:
        return f"the command was killed by signal {-run.exit_code}"
    return f"the command exited with code {run.exit_code}"


def with_tail(reason: str, tail: str) -> str:
    return f"{reason}; last lines of output:\n{tail}" if tail.strip() else f"{reason} (no output)"
