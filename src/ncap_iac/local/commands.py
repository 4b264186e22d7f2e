"""`ncap local up|down|submit|status|mail|interrupt`: the embedded local cloud from the command line."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(commands, common) -> dict:
    local = commands.add_parser(
        "local", parents=[common], help="run a whole pipeline on this machine (AWS emulator, real handlers, workers)",
        description="The embedded local cloud: the pipeline's template deployed to a moto server on "
                    "localhost, its Lambda handlers run without Docker, and worker agents as processes.")
    actions = local.add_subparsers(dest="action", required=True, metavar="ACTION")
    _up(actions, common)
    down = actions.add_parser("down", parents=[common], help="stop a running local cloud (by process id)")
    down.add_argument("pipeline_dir", nargs="?", type=Path, help="the pipeline folder (optional if only one runs)")
    down.add_argument("--state-dir")
    _submit(actions, common)
    status = actions.add_parser("status", parents=[common], help="list the jobs and their states")
    status.add_argument("pipeline_dir", type=Path)
    status.add_argument("--state-dir")
    mail = actions.add_parser("mail", parents=[common], help="the emails the local cloud would have sent",
                              description="Verification codes, invitations and other emails a directory sends, "
                                          "caught in the state folder instead of sent (oldest first).")
    mail.add_argument("pipeline_dir", nargs="?", type=Path, default=Path("."),
                      help="the pipeline folder (default: this folder)")
    mail.add_argument("--to", metavar="EMAIL", help="only the emails to this address")
    mail.add_argument("--json", action="store_true", help="one JSON document per line")
    mail.add_argument("--state-dir")
    interrupt = actions.add_parser(
        "interrupt", parents=[common], help="give a Spot worker instance the interruption notice",
        description="A Spot interruption, as EC2 gives it: the instance's metadata serves the notice, its agent "
                    "returns the running job to the queue (a dataset interrupted Workers.Spot.MaxInterruptions "
                    "times goes to the on-demand group's queue) and stops, and the group replaces the instance. "
                    "Waits until the instance is gone.")
    interrupt.add_argument("pipeline_dir", type=Path, help="the pipeline folder of a running local cloud")
    interrupt.add_argument("--instance", metavar="ID",
                           help="the instance (default: one of the Spot groups' that runs a job, else any)")
    interrupt.add_argument("--state-dir")
    return {"local": _run}


def _up(actions, common) -> None:
    up = actions.add_parser(
        "up", parents=[common], help="start the local cloud and stay in the foreground",
        description="Compiles the pipeline, starts moto on localhost, deploys the stack, answers its "
                    "custom resources with the real handlers, routes uploads to the submit handler, "
                    "starts worker agents, and writes STATE_DIR/local.json. Ctrl-C or "
                    "`ncap local down` stops everything it started.")
    up.add_argument("pipeline_dir", type=Path, help="folder holding stack_config.json")
    up.add_argument("--workers", type=_count, default=2,
                    help="the most worker agents at once, one per instance of the worker group (default 2; 0 for "
                         "none): they follow the group, started when it gains an instance and stopped when one "
                         "leaves. With Stages: for each stage")
    up.add_argument("--workers-per-stage", type=_stage_count, action="append", default=[], metavar="NAME=N",
                    help="the most workers of one stage (repeat for several stages; the others get --workers)")
    up.add_argument("--start-instances", type=_count, metavar="N",
                    help="the group's desired capacity at start (default: --workers; 0: scale from zero, the "
                         "submit function asks for instances as jobs arrive)")
    up.add_argument("--port", type=_positive, help="port for the emulator (default: a free one)")
    up.add_argument("--state-dir", help="where the cloud keeps its state (default: PIPELINE_DIR/.ncap/local)")


def _submit(actions, common) -> None:
    submit = actions.add_parser(
        "submit", parents=[common], help="upload data and a config as a lab user, then a submit.json",
        description="Uploads with the user's own credentials (IAM enforced), writes the submit.json (in "
                    "fileset mode the upload of the set's files starts the job: give one file per suffix); "
                    "with --wait shows progress until the job ends and downloads its results.")
    submit.add_argument("pipeline_dir", type=Path)
    submit.add_argument("--user", required=True, help="a lab user of the pipeline (see local.json)")
    submit.add_argument("--lab", help="for a user in several labs: which one submits (default: the first it is in)")
    submit.add_argument("--data", required=True, nargs="+", type=Path, help="dataset file(s)")
    submit.add_argument("--config", type=Path,
                        help="the analysis config file (required in submit mode; in fileset mode uploaded to configs/)")
    submit.add_argument("--wait", action="store_true", help="wait for the result and download it")
    submit.add_argument("--out", type=Path, help="where results go (default ./ncap-results/JOB_ID)")
    submit.add_argument("--timeout", type=float, default=300.0, help="seconds --wait waits (default 300)")
    submit.add_argument("--state-dir")


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)


def _stage_count(text: str) -> tuple[str, int]:
    name, sign, count = text.partition("=")
    if not sign or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=N, e.g. preprocess=2, got {text!r}")
    return name, _count(count)


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _say(line: str) -> None:
    print(line, flush=True)


def _run(args) -> int:
    if args.action == "up":
        from .cloud import up

        return up(args.pipeline_dir, args.workers, args.port, args.state_dir, _say, args.start_instances,
                  dict(args.workers_per_stage))
    if args.action == "down":
        from .cloud import down

        return down(args.pipeline_dir, args.state_dir, _say)
    if args.action == "interrupt":
        from .interrupt import interrupt

        return interrupt(args.pipeline_dir, args.instance, args.state_dir, _say)
    if args.action == "mail":
        from .mail import show

        return show(args.pipeline_dir, args.state_dir, args.to, args.json, _say)
    from . import jobs

    if args.action == "status":
        return jobs.status(args.pipeline_dir, args.state_dir, _say)
    return jobs.submit(args.pipeline_dir, args.user, args.data, args.config, args.wait, args.out,
                       args.timeout, args.state_dir, _say, lab=args.lab)
