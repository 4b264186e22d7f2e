"""`ncap sample`, the agent's one-job mode (commands.py SAMPLE_DESCRIPTION says what it does): a
job's own folder, environment and runner, fed from a local folder instead of the queue and S3."""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import NcapError
from . import runner, workspace
from .agent import working_folder
from .messages import Task
from .placeholders import check_template, command_argv
from .settings import LOCAL_CLOUD, LOG_NAME, run_as_problem

CONFIG_NAME = "config.json"
SAMPLE_BUCKET = "sample"  # what {bucket} and NCAP_BUCKET are in a sample run


def handler(args: argparse.Namespace) -> int:
    folder, out = Path(args.folder), Path(args.out) if args.out else Path(args.folder).parent / "sample-output"
    files = sample_datasets(folder)
    check_options(args, args.command_dir)
    config = folder / CONFIG_NAME if (folder / CONFIG_NAME).is_file() else None
    datasets = [(folder.name, files)] if args.one_dataset else [(file.name, [file]) for file in files]
    failed = 0
    for name, inputs in datasets:
        code = run_dataset(args, name, inputs, config, out / name)
        print(f"{name}: {'ok' if code == 0 else f'FAILED ({code})'}; outputs and log in {out / name}")
        failed += code != 0
    print(f"{len(datasets) - failed} of {len(datasets)} dataset(s) succeeded")
    return 1 if failed else 0


def sample_datasets(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise NcapError(f"{folder}: not a folder")
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.name != CONFIG_NAME and not p.name.startswith("."))
    if not found:
        raise NcapError(f"{folder}: no data file (every file but {CONFIG_NAME} is a dataset)")
    return found


def check_options(args, command_dir: str | None) -> None:
    check_template(args.job_command)
    if command_dir and not Path(command_dir).is_dir():
        raise NcapError(f"--command-dir: {command_dir} is not a folder")
    if not LOG_NAME.match(args.log_name):
        raise NcapError(f"--log-name: {args.log_name!r} must be a plain file name")
    if args.run_as and os.environ.get(LOCAL_CLOUD) == "1":
        print(f"--run-as {args.run_as}: a local cloud instance: the command runs as this machine's own user")
        args.run_as = None
    if args.run_as:
        problem = run_as_problem(args.run_as)
        if problem:
            raise NcapError(f"--run-as: {problem}")


def run_dataset(args, name: str, files: list[Path], config: Path | None, out: Path) -> int:
    """The command on one dataset (one file, or with --one-dataset the folder's files, given as the
    folder that holds them) in a job's own folder; its outputs and log copied to `out`."""
    workdir, _ = working_folder(Path(tempfile.mkdtemp(prefix="ncap-sample-")), args.run_as is not None)
    try:
        space = workspace.create(workdir, args.log_name, args.run_as)
        task = sample_task(name, config, args.one_dataset)
        space.inputs = [space.input_dir / file.name for file in files]
        for file, copy in zip(files, space.inputs):
            shutil.copyfile(file, copy)
        if config is not None:
            space.config = space.root / "config" / config.name
            shutil.copyfile(config, space.config)
        env = {k: v for k, v in workspace.environment(task, space, "", "", "").items()
               if not k.startswith(("AWS_CONTAINER_", "AWS_REGION", "AWS_DEFAULT_REGION"))}
        run = runner.run(command_argv(args.job_command, workspace.values(task)), env,
                         Path(args.command_dir).resolve() if args.command_dir else space.root, space.log,
                         args.job_timeout, runner.Interrupt(), args.run_as)
        keep(space, out, args.log_name)
        return 0 if run.ok else (run.exit_code or 1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def sample_task(name: str, config: Path | None, one_dataset: bool) -> Task:
    result, dataname = f"{SAMPLE_BUCKET}/results/job_sample/process_results/", f"{SAMPLE_BUCKET}/inputs/{name}"
    return Task(bucket=SAMPLE_BUCKET, affiliate=SAMPLE_BUCKET, job_id="sample", submit_key=None,
                dataname=dataname, datanames=(dataname,),
                configname=f"{SAMPLE_BUCKET}/configs/{config.name}" if config else None, resultpath=result,
                status_key=f"{SAMPLE_BUCKET}/results/job_sample/logs/status.json",
                input_prefix=f"{SAMPLE_BUCKET}/inputs/" if one_dataset else None)


def keep(space: workspace.Workspace, out: Path, log_name: str) -> None:
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(space.output_dir, out)
    shutil.copyfile(space.log, out / log_name)
