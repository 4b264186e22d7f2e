"""`ncap worker`: the subcommand that starts the agent (its code loads only when it runs)."""
from __future__ import annotations

import argparse

DESCRIPTION = (
    "Long-polls the job queue and runs each job: sets its status RUNNING, downloads its dataset(s) "
    "and config, runs COMMAND (values passed as arguments, never spliced into shell text), uploads "
    "everything written to $NCAP_OUTPUT_DIR to the job's result path and the log beside status.json, "
    "sets SUCCESS and only then deletes the message. Failures are retried by SQS redelivery; on the "
    "queue's last allowed receive the job is marked FAILED and goes to the dead-letter queue. "
    "SIGTERM stops taking jobs and gives the running one --grace seconds. Placeholders in COMMAND: "
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
    add("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION, else the queue URL's)")
    add("--job-timeout", type=int, default=86400, metavar="SECONDS", help="per-job time limit; 0: none (default 86400)")
    add("--log-name", default="job_log.txt",
        help="name of the job log under results/job_ID/logs/ (default job_log.txt)")
    add("--workdir", metavar="DIR", help="folder for the jobs' working folders (default: a temporary folder)")
    add("--command-dir", metavar="DIR", help="folder the command runs in (default: the job's fresh working folder)")
    add("--max-jobs", type=int, metavar="N", help="exit after handling N messages")
    add("--idle-exit", type=float, metavar="SECONDS", help="exit after SECONDS with no message and no job running")
    add("--concurrency", type=int, default=1, metavar="K", help="jobs run at once (default 1)")
    add("--heartbeat", type=int, default=60, metavar="SECONDS",
        help="visibility step: a running job's message is kept hidden this far ahead, renewed every third "
             "of it (default 60)")
    add("--grace", type=float, default=90.0, metavar="SECONDS",
        help="after SIGTERM, how long a running job may go on (default 90)")
    add("--poll-seconds", type=int, default=20, metavar="SECONDS", help="long-poll wait, 1-20 (default 20)")
    add("--topic-arn", help="SNS topic for the labs' job notices (optional)")
    return {"worker": handler}


def handler(args: argparse.Namespace) -> int:
    from .agent import serve

    return serve(args)
