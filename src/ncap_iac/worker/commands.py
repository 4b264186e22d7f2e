"""`ncap worker`: the subcommand that starts the agent (its code loads only when it runs)."""
from __future__ import annotations

import argparse
import os

DESCRIPTION = (
    "Long-polls the job queue and runs each job: sets its status RUNNING, downloads its dataset(s) "
    "and config, runs COMMAND (values passed as arguments, never spliced into shell text), uploads "
    "everything written to $NCAP_OUTPUT_DIR to the job's result path and the log beside status.json, "
    "sets SUCCESS and only then deletes the message. Failures are retried by SQS redelivery; on the "
    "queue's last allowed receive the job is marked FAILED and goes to the dead-letter queue. "
    "SIGTERM stops taking jobs and gives the running one --grace seconds; a job stopped that way, or "
    "by a Spot interruption notice or the group's terminating lifecycle hook (with --group), is queued "
    "again at once without counting as a failed attempt. Each job runs with its lab's job role (see "
    "--job-roles): the agent reaches the lab's data only through it, and the command gets a session "
    "of it narrowed to reading the lab's inputs and configs and writing the job's result path, served "
    "(and renewed) on a loopback endpoint named by AWS_CONTAINER_CREDENTIALS_FULL_URI; none of the "
    "agent's own credentials reach the command. Placeholders in COMMAND: "
    "four positional {} (bucket, dataname, resultpath, configname) or {bucket} {dataname} "
    "{resultpath} {configname}. The command also finds NCAP_BUCKET, NCAP_DATANAME, NCAP_CONFIGNAME, "
    "NCAP_RESULTPATH, NCAP_JOB_ID, NCAP_INPUT_PATH, NCAP_INPUT_DIR, NCAP_CONFIG_PATH and "
    "NCAP_OUTPUT_DIR in its environment. Logs one JSON line per decision on stderr.")


def register(commands, common) -> dict:
    worker = commands.add_parser("worker", parents=[common], description=DESCRIPTION,
                                 help="run jobs from the queue (the agent on each worker instance)")
    add = worker.add_argument
    add("--queue-url", required=True, help="URL of the job queue")
    add("--bucket", required=True, help="the pipeline's bucket; messages naming another are refused")
    add("--command", dest="job_command", metavar="COMMAND", required=True,
        help="the command to run for each job (see above)")
    add("--job-roles", required=True, metavar="ARN_PREFIX",
        help="ARN prefix of the labs' job roles, e.g. arn:aws:iam::123456789012:role/ncap/PIPELINE/jobs/ "
             "(the role of lab L is that prefix and the name the template gives it)")
    add("--folders", default="inputs,configs,results,logs", metavar="I,C,R,L",
        help="the labs' inputs, configs, results and logs folder names (default inputs,configs,results,logs)")
    add("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION, else the queue URL's)")
    add("--job-timeout", type=int, default=86400, metavar="SECONDS", help="per-job time limit; 0: none (default 86400)")
    add("--log-name", default="job_log.txt",
        help="name of the job log under LAB/logs/job_ID/ (default job_log.txt)")
    add("--workdir", metavar="DIR", help="folder for the jobs' working folders (default: a temporary folder)")
    add("--command-dir", metavar="DIR", help="folder the command runs in (default: the job's fresh working folder)")
    add("--max-jobs", type=int, metavar="N", help="exit after handling N messages")
    add("--idle-exit", type=float, metavar="SECONDS",
        help="exit after SECONDS with no message and no job running; in a group (--group), first leave it: "
             "terminate this instance and lower the desired capacity (not below the group's minimum)")
    add("--concurrency", type=int, default=1, metavar="K", help="jobs run at once (default 1)")
    add("--heartbeat", type=int, default=_tuned("HEARTBEAT", 60), metavar="SECONDS",
        help="visibility step: a running job's message is kept hidden this far ahead, renewed every third "
             "of it (default 60, or NCAP_AGENT_HEARTBEAT)")
    add("--grace", type=float, default=_tuned("GRACE", 90.0), metavar="SECONDS",
        help="after SIGTERM, how long a running job may go on (default 90, or NCAP_AGENT_GRACE)")
    add("--poll-seconds", type=int, default=_tuned("POLL_SECONDS", 20), metavar="SECONDS",
        help="long-poll wait, 1-20 (default 20, or NCAP_AGENT_POLL_SECONDS)")
    add("--topic-arn", help="SNS topic for the labs' job notices (optional)")
    add("--group", metavar="NAME",
        help="this instance's auto scaling group: scale-in protection while a job runs, and interruption "
             "notices (Spot, terminating lifecycle hook) return running jobs at once")
    add("--instance-id", metavar="ID",
        help="this instance's id (default: NCAP_INSTANCE_ID, else the instance metadata service)")
    add("--lifecycle-hook", metavar="NAME", help="the group's terminating lifecycle hook, continued once jobs are back")
    add("--launching-hook", metavar="NAME",
        help="the group's launching lifecycle hook (a group with a warm pool): continued once the agent is ready; "
             "while the instance's target lifecycle state is a warm pool's (Warmed:*) the agent takes no job")
    add("--on-demand-queue-url", metavar="URL",
        help="a Spot group's fallback: a dataset interrupted --max-interruptions times is queued here, for the "
             "stage's on-demand group, instead of on --queue-url")
    add("--on-demand-group", metavar="NAME",
        help="the on-demand group, asked for capacity when a dataset is queued on --on-demand-queue-url")
    add("--max-interruptions", type=int, metavar="N",
        help="interruptions a dataset may have on Spot before it goes to --on-demand-queue-url (default 2)")
    add("--watch-seconds", type=float, default=_tuned("WATCH_SECONDS", 5.0), metavar="SECONDS",
        help="how often interruption notices, and a running job's cancel request, are looked for "
             "(default 5, or NCAP_AGENT_WATCH_SECONDS)")
    add("--log-seconds", type=float, default=_tuned("LOG_SECONDS", 10.0), metavar="SECONDS",
        help="how often a running job's log is uploaded for its lab to follow, when it grew "
             "(default 10, or NCAP_AGENT_LOG_SECONDS)")
    add("--run-as", metavar="USER", help="run the command as this unprivileged user (the agent must be root)")
    add("--instance-type", metavar="TYPE", help="this instance's type, recorded with each attempt in the ledger")
    add("--hourly-price-usd", type=float, metavar="USD",
        help="this instance's hourly price: each attempt's cost goes into the pipeline's ledger "
             "(ledger/MONTH/LAB/...), which the labs' budgets are checked against")
    add("--hourly-prices", metavar="TYPE=USD[:SPOT_USD],...",
        help="a group of several instance types: each type's on-demand price (and the price table's Spot "
             "estimate, used when EC2's Spot price history cannot be read); the instance's own type is read "
             "from the instance metadata service")
    add("--stage", metavar="NAME", help="the pipeline stage this agent runs (messages for another are refused)")
    add("--next-stage", metavar="NAME",
        help="the stage after this one: a dataset that succeeds here has its outputs stored under "
             "results/job_ID/stages/STAGE/ and is queued on --next-queue-url, with that folder as its input")
    add("--next-queue-url", metavar="URL", help="the next stage's job queue")
    add("--next-group", metavar="NAME", help="the next stage's auto scaling group, asked for capacity at a hand-off")
    _sample_parser(commands, common)
    return {"worker": handler, "sample": sample_handler}


SAMPLE_DESCRIPTION = (
    "The agent's one-job mode: the pipeline's command runs on a sample folder as a job would run it (the "
    "same placeholders and NCAP_* environment, working folder, time limit, user and process group), with no "
    "queue and no AWS. Each data file of the folder is one dataset, its config.json (if any) the job's config; "
    "what the command writes to $NCAP_OUTPUT_DIR is kept in --out. An image build runs it as its test step. "
    "Exits 0 when every dataset's command exited 0.")


def _sample_parser(commands, common) -> None:
    sample = commands.add_parser("sample", parents=[common], description=SAMPLE_DESCRIPTION,
                                 help="run the command on a sample folder, as a job would run it (no AWS)")
    add = sample.add_argument
    add("folder", metavar="SAMPLE_DIR", help="the sample: data files, and config.json if the command takes one")
    add("--command", dest="job_command", metavar="COMMAND", required=True, help="the pipeline's command")
    add("--command-dir", metavar="DIR", help="folder the command runs in (default: the job's own folder)")
    add("--out", metavar="DIR",
        help="where each dataset's outputs and log are kept (default: SAMPLE_DIR/../sample-output)")
    add("--job-timeout", type=int, default=86400, metavar="SECONDS", help="per-dataset time limit; 0: none")
    add("--run-as", metavar="USER", help="run the command as this unprivileged user (the agent must be root)")
    add("--log-name", default="job_log.txt", help="the log's name, kept beside each dataset's outputs")
    add("--one-dataset", action="store_true",
        help="the folder's data files are one dataset (a fileset, or a later stage's input folder): the command "
             "gets them in NCAP_INPUT_DIR, and NCAP_INPUT_PATH is that folder")


def sample_handler(args: argparse.Namespace) -> int:
    from .sample import handler as run_sample

    return run_sample(args)


def _tuned(name: str, default):
    """A timing option's default: NCAP_AGENT_<name> when set (the local cloud shortens these for its
    instances; nothing sets them on AWS), else `default`. A string default is converted by the
    option's type, so a bad value is the option's own error."""
    return os.environ.get(f"NCAP_AGENT_{name}", default)


def handler(args: argparse.Namespace) -> int:
    from .agent import serve

    return serve(args)
