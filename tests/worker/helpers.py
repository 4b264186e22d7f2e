"""A moto cloud for the worker tests (versioned bucket, job queue with a dead-letter queue, SNS
topic with a queue subscribed, each lab's job role as the template makes it, with its policy),
jobs queued by the real submit handler, and ways to run the agent:
in this process (handle one delivery, or an Agent until --max-jobs / --idle-exit) or as real
`ncap worker` processes."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import boto3

from ncap_iac.worker.endpoint import Endpoint

REPO = Path(__file__).resolve().parents[2]
LAMBDA_ROOT = REPO / "lambda_repo"
if str(LAMBDA_ROOT) not in sys.path:
    sys.path.insert(0, str(LAMBDA_ROOT))

BUCKET, LAB, REGION = "lab-pipeline", "labA", "us-east-1"
LABS = (LAB, "labB")
ACCOUNT = "123456789012"  # moto's
JOB_ROLES = f"arn:aws:iam::{ACCOUNT}:role/ncap/{BUCKET}/jobs/"
NCAP = [sys.executable, "-m", "ncap_iac.cli"]
# Writes one result file derived from the dataname, and records the environment it saw.
WRITE_RESULT = ("python3 -c 'import os, pathlib; o = pathlib.Path(os.environ[\"NCAP_OUTPUT_DIR\"]); "
                "(o / \"result.txt\").write_text(\"done \" + os.environ[\"NCAP_DATANAME\"])'")


class Cloud:
    """The AWS resources of one test on the moto server, and shortcuts to use and inspect them."""

    def __init__(self, monkeypatch, max_receives: int | None = 3, fifo: bool = False):
        self.s3, self.sqs, self.sns = (shared_client(name) for name in ("s3", "sqs", "sns"))
        self.uploaded: set[str] = set()
        self.s3.create_bucket(Bucket=BUCKET)
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        for lab in LABS:  # the folders function's markers: what makes them labs of the pipeline
            self.s3.put_object(Bucket=BUCKET, Key=f"{lab}/submissions/", Body=b"")
        make_job_roles(shared_client("iam"), LABS)
        suffix = ".fifo" if fifo else ""
        fifo_attributes = {"FifoQueue": "true"} if fifo else {}
        self.dlq = self.sqs.create_queue(QueueName=f"jobs-dlq{suffix}", Attributes=fifo_attributes)["QueueUrl"]
        attributes = dict(fifo_attributes)
        if max_receives is not None:
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": self.arn(self.dlq),
                                                      "maxReceiveCount": max_receives})
        self.queue = self.sqs.create_queue(QueueName=f"jobs{suffix}", Attributes=attributes)["QueueUrl"]
        self.topic = self.sns.create_topic(Name="lab-notices")["TopicArn"]
        self.notice_queue = self.sqs.create_queue(QueueName="notices")["QueueUrl"]
        self.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=self.arn(self.notice_queue),
                           Attributes={"RawMessageDelivery": "false"})
        for name, value in submit_environment(self.queue, self.topic, fifo).items():
            monkeypatch.setenv(name, value)

    def arn(self, queue_url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]

    def put(self, key: str, body: bytes = b"1,2,3\n") -> str:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        return key

    def get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def submit(self, job_id: str, datanames=None, configname: str | None = None, lab: str = LAB) -> dict:
        """Upload inputs, a config and a submit.json, and run the real submit handler on its S3
        event (which queues one message per dataset)."""
        import submit_start

        datanames = datanames or [f"{lab}/inputs/{job_id}.csv"]
        configname = configname or f"{lab}/configs/c.yaml"
        for key in [*datanames, *([configname] if configname not in self.uploaded else [])]:
            self.put(key, f"data of {key}\n".encode())
        self.uploaded.add(configname)
        document = {"dataname": datanames if len(datanames) > 1 else datanames[0],
                    "configname": configname, "timestamp": job_id}
        key = self.put(f"{lab}/submissions/{job_id}_submit.json", json.dumps(document).encode())
        outcome = submit_start.handler(s3_event(key), None)
        assert outcome["jobs"] == [job_id], outcome
        return outcome

    def status(self, job_id: str, lab: str = LAB) -> dict:
        return json.loads(self.get(status_key(job_id, lab)))

    def send(self, body, queue: str | None = None) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        self.sqs.send_message(QueueUrl=queue or self.queue, MessageBody=text)

    def counts(self, queue: str | None = None) -> tuple[int, int]:
        """(visible, in flight) messages."""
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue or self.queue, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return (int(attributes["ApproximateNumberOfMessages"]),
                int(attributes["ApproximateNumberOfMessagesNotVisible"]))

    def receive(self, queue: str | None = None, visibility: int = 30, wait: int = 0):
        """One delivery (ncap_iac.worker.queue.Delivery) or None."""
        from ncap_iac.worker import queue as worker_queue

        return worker_queue.receive(self.sqs, queue or self.queue, wait, visibility)

    def drain(self, queue: str) -> list[str]:
        """Bodies of every message on `queue`, received and deleted."""
        bodies = []
        while (reply := self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)).get("Messages"):
            for message in reply["Messages"]:
                bodies.append(message["Body"])
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def notices(self) -> list[dict]:
        """The SNS notices sent so far: subject, message and the affiliate attribute."""
        found = []
        for body in self.drain(self.notice_queue):
            envelope = json.loads(body)
            found.append({"subject": envelope.get("Subject"), "message": envelope.get("Message"),
                          "affiliate": envelope.get("MessageAttributes", {}).get("affiliate", {}).get("Value")})
        return found

    def versions(self, prefix: str) -> dict[str, int]:
        """Number of versions of every key under `prefix`."""
        found: dict[str, int] = {}
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=prefix):
            for version in page.get("Versions", []):
                found[version["Key"]] = found.get(version["Key"], 0) + 1
        return found

    def worker_args(self, command: str, workdir: Path, **options) -> list[str]:
        """`ncap worker` arguments for this cloud; options as flag=value (underscores -> dashes)."""
        argv = ["worker", "--queue-url", self.queue, "--bucket", BUCKET, "--region", REGION,
                "--command", command, "--workdir", str(workdir), "--topic-arn", self.topic,
                "--job-roles", JOB_ROLES]
        defaults = {"heartbeat": 3, "poll_seconds": 1}
        for name, value in {**defaults, **options}.items():
            if value is not None:
                argv += [f"--{name.replace('_', '-')}", str(value)]
        return argv


CLIENTS: dict = {}
ENDPOINT = Endpoint()  # the in-process agents' credentials endpoint (started on first use)


def make_job_roles(iam, labs) -> None:
    """The pipeline's job role with the template's own trust and policy (template/jobs.py), once
    per server; each session of it is tagged with its lab."""
    from ncap_iac.config import load_document
    from ncap_iac.lambda_repo.ncap_lambda.roles import job_role_name, job_role_path
    from ncap_iac.template.jobs import job_role

    from factories import minimal_config

    config = load_document(minimal_config(PipelineName=BUCKET, UXData={"Affiliates": [
        {"AffiliateName": lab, "UserNames": [f"user-{lab}"]} for lab in labs]}), REPO)
    name = job_role_name(BUCKET)
    try:
        iam.get_role(RoleName=name)
        return
    except iam.exceptions.NoSuchEntityException:
        pass
    role = job_role(config, f"arn:aws:iam::{ACCOUNT}:role/worker").to_dict()["Properties"]
    iam.create_role(RoleName=name, Path=job_role_path(BUCKET), AssumeRolePolicyDocument=json.dumps(
        role["AssumeRolePolicyDocument"]))
    for policy in role["Policies"]:
        iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"],
                            PolicyDocument=json.dumps(resolved(policy["PolicyDocument"])))


def resolved(value):
    """A policy with its Fn::Sub ARNs as moto's account and region make them."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return (value["Fn::Sub"].replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", ACCOUNT)
                .replace("${AWS::Region}", REGION).replace("${!", "${"))
    if isinstance(value, dict):
        return {k: resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v) for v in value]
    return value


def shared_client(service: str):
    """One boto3 client per service and endpoint for the whole session (making one takes tens
    of milliseconds)."""
    import os

    key = (service, os.environ.get("AWS_ENDPOINT_URL"))
    if key not in CLIENTS:
        CLIENTS[key] = boto3.client(service, region_name=REGION)
    return CLIENTS[key]


def worker_clients(concurrency: int, poll_seconds: int):
    """The worker's own clients (ncap_iac.worker.aws.make_clients), made once per session."""
    import os

    from ncap_iac.worker.aws import make_clients

    key = ("worker", os.environ.get("AWS_ENDPOINT_URL"), concurrency, poll_seconds)
    if key not in CLIENTS:
        CLIENTS[key] = make_clients(REGION, concurrency, poll_seconds)
    return CLIENTS[key]


def submit_environment(queue_url: str, topic_arn: str, fifo: bool) -> dict:
    """The submit function's environment, as template/trigger.py environment() gives it."""
    return {"BUCKET_NAME": BUCKET, "QUEUE_URL": queue_url, "QUEUE_FIFO": str(fifo).lower(),
            "TOPIC_ARN": topic_arn, "TRIGGER_MODE": "submit", "FILESET_SUFFIXES": "",
            "INPUTS_FOLDER": "inputs", "CONFIGS_FOLDER": "configs", "SUBMISSIONS_FOLDER": "submissions",
            "RESULTS_FOLDER": "results", "LOGS_FOLDER": "logs", "MAX_SUBMIT_BYTES": "262144"}


def s3_event(key: str) -> dict:
    import urllib.parse

    return {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": BUCKET}, "object": {"key": urllib.parse.quote_plus(key, safe="/")}}}]}


def status_key(job_id: str, lab: str = LAB) -> str:
    return f"{lab}/results/job_{job_id}/logs/status.json"


def results_prefix(job_id: str, lab: str = LAB) -> str:
    return f"{lab}/results/job_{job_id}/process_results/"


def log_key(job_id: str, name: str = "job_log.txt", lab: str = LAB) -> str:
    return f"{lab}/logs/job_{job_id}/{name}"


def message(job_id: str = "j1", lab: str = LAB, **changes) -> dict:
    """A message body as the submit handler writes it."""
    prefix = f"{lab}/results/job_{job_id}/"
    body = {"version": 1, "bucket": BUCKET, "affiliate": lab, "job_id": job_id,
            "submit_key": f"{lab}/submissions/{job_id}_submit.json", "dataname": f"{lab}/inputs/{job_id}.csv",
            "datanames": [f"{lab}/inputs/{job_id}.csv"], "configname": None,
            "resultpath": prefix + "process_results/", "status_key": prefix + "logs/status.json"}
    body.update(changes)
    return body


# --- the agent in this process -------------------------------------------------------------

class Decisions(logging.Handler):
    """Collects the worker's JSON decision lines."""

    def __init__(self):
        super().__init__()
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(record.getMessage()))

    def named(self, decision: str) -> list[dict]:
        return [line for line in self.lines if line["decision"] == decision]

    def outcomes(self) -> list[str]:
        return [line["outcome"] for line in self.named("job")]


def context(cloud: Cloud, command: str, workdir: Path, **settings):
    """A worker Context on this cloud (heartbeat 3 s, poll 1 s unless given)."""
    from ncap_iac.worker.context import Context
    from ncap_iac.worker.credentials import JobRoles
    from ncap_iac.worker.queue import max_receive_count
    from ncap_iac.worker.runner import Interrupt
    from ncap_iac.worker.settings import Settings, check
    from ncap_iac.worker.spot_price import Prices

    base = Settings(queue_url=cloud.queue, bucket=BUCKET, region=REGION, command=command, job_roles=JOB_ROLES,
                    heartbeat=3, poll_seconds=1, topic_arn=cloud.topic, workdir=workdir)
    values = replace(base, **settings)
    check(values)
    clients = worker_clients(values.concurrency, values.poll_seconds)
    roles = JobRoles(clients.sts, JOB_ROLES, BUCKET, "test-worker", values.folders, clients.lab_s3)
    prices = Prices(values.hourly_price_usd) if values.hourly_price_usd is not None else None
    return Context(values, clients, max_receive_count(clients.sqs, cloud.queue), Interrupt(),
                   workdir, "test-worker", roles, ENDPOINT, prices=prices)


class WrappedRoles:
    """A context's job roles whose agent S3 clients are wrapped (to inject faults)."""

    def __init__(self, roles, wrap):
        self._roles, self._wrap, self._wrapped = roles, wrap, {}

    def agent_s3(self, affiliate: str):
        if affiliate not in self._wrapped:
            self._wrapped[affiliate] = self._wrap(self._roles.agent_s3(affiliate))
        return self._wrapped[affiliate]

    def __getattr__(self, name):
        return getattr(self._roles, name)


def with_lab_s3(ctx, wrap):
    """`ctx` with every lab S3 client of the agent wrapped by `wrap`."""
    return replace(ctx, roles=WrappedRoles(ctx.roles, wrap))


def handle(ctx, delivery) -> str:
    """job.handle, then wait for what it left to run in the background (the message's deletion,
    the notice, the removal of its folder), as the agent does before it exits."""
    from ncap_iac.worker import background, job, workspace

    outcome = job.handle(ctx, delivery)
    background.settle()
    workspace.settle()
    return outcome


def run_agent(ctx) -> int:
    from ncap_iac.worker.agent import Agent

    return Agent(ctx).run()


# --- `ncap worker` processes ---------------------------------------------------------------

class WorkerProcess:
    """A real `ncap worker` process; its stderr (the decision lines) goes to a file."""

    def __init__(self, argv: list[str], log_path: Path, env: dict | None = None):
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen([*NCAP, *argv], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=log, env=env)

    def decisions(self) -> list[dict]:
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found

    def wait_for(self, decision: str, timeout: float = 30.0, **fields) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.decisions():
                if line["decision"] == decision and all(line.get(k) == v for k, v in fields.items()):
                    return line
            assert self.process.poll() is None or decision == "stopped", self.log_path.read_text()
            time.sleep(0.05)
        raise AssertionError(f"no {decision} {fields} within {timeout} s:\n{self.log_path.read_text()}")

    def wait(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} did not hold within {timeout} s")


# --- fixtures shared by the test modules (imported there by name) --------------------------

import pytest  # noqa: E402


@pytest.fixture
def cloud(moto_server, monkeypatch):
    return Cloud(monkeypatch)


@pytest.fixture
def decisions():
    from ncap_iac.worker.log import LOG

    handler = Decisions()
    LOG.addHandler(handler)
    yield handler
    LOG.removeHandler(handler)
