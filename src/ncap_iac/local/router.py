"""S3 -> the bucket's functions, without Docker: the bucket's Lambda notifications become SQS
notifications (which moto delivers) to a router queue, and a thread hands each event's records to
the real handler of the function whose notification rule (prefix and suffix) matches each key, as
Lambda would (the submit function; a post-processing function). A handler error leaves the event
for a retry; after three tries the event goes to the template's trigger dead-letter queue, as an
asynchronous Lambda's would."""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote_plus

from ..emulator.function_host import FunctionProcess
from ..emulator.functions import Invocation

LOG = logging.getLogger("ncap.local.router")
RETRIES_BEFORE_DEAD_LETTER = 3
THREADS = 4  # events handled at once, as Lambda runs concurrent invocations


def route_notifications(aws, bucket: str, lambda_configurations: list, dead_letter_arn: str) -> str:
    """Create the router queue and point the bucket's notifications at it; returns its URL."""
    url = aws.sqs.create_queue(QueueName=f"{bucket}-local-s3-events", Attributes={
        "VisibilityTimeout": "5",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn,
                                     "maxReceiveCount": RETRIES_BEFORE_DEAD_LETTER})})["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [_queue_configuration(c, arn) for c in lambda_configurations]})
    return url


def _queue_configuration(lambda_configuration: dict, queue_arn: str) -> dict:
    rules = lambda_configuration.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    return {"QueueArn": queue_arn, "Events": [lambda_configuration["Event"]],
            "Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}}


@dataclass(frozen=True)
class Rule:
    """One Lambda notification rule of the bucket: its function (logical id) and key filter."""
    function_id: str
    prefix: str = ""
    suffix: str = ""

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix) and key.endswith(self.suffix)


def notification_rules(lambda_configurations: list) -> list[Rule]:
    """The rules of the bucket's LambdaConfigurations (as the translated template has them)."""
    found = []
    for configuration in lambda_configurations:
        target = configuration.get("Function")
        att = target.get("Fn::GetAtt") if isinstance(target, dict) else None
        function_id = (att if isinstance(att, list) else str(att or target).split("."))[0]
        given = configuration.get("Filter", {}).get("S3Key", {}).get("Rules", [])
        rules = {r["Name"].lower(): r["Value"] for r in given}
        found.append(Rule(function_id, rules.get("prefix", ""), rules.get("suffix", "")))
    return found


class Dispatcher:
    """event -> outcome, as one handler: each record goes to the handler of the first rule that
    matches its key (S3 refuses overlapping rules on one bucket, so there is at most one); an event
    without records warms every handler up. The outcome is the one handler's, else the first
    failure, else each function's result by its logical id."""

    def __init__(self, rules: list[Rule], handlers: dict[str, Callable[[dict], Invocation]]):
        self.rules = [r for r in rules if r.function_id in handlers]
        self.handlers = handlers

    def __call__(self, event: dict) -> Invocation:
        records = event.get("Records") or []
        groups: dict[str, list] = {} if records else {function_id: [] for function_id in self.handlers}
        for record in records:
            key = unquote_plus(str(((record.get("s3") or {}).get("object") or {}).get("key", "")))
            rule = next((r for r in self.rules if r.matches(key)), None)
            if rule is None:
                LOG.warning(json.dumps({"decision": "no-function-for-key", "key": key[:200]}))
                continue
            groups.setdefault(rule.function_id, []).append(record)
        outcomes = {function_id: self.handlers[function_id]({"Records": found})
                    for function_id, found in groups.items()}
        if len(outcomes) == 1:
            return next(iter(outcomes.values()))
        failed = [o for o in outcomes.values() if not o.ok]
        return failed[0] if failed else Invocation(result={k: o.result for k, o in outcomes.items()})

    def pids(self) -> list[int]:
        """The processes of the functions that run in processes of their own (for `down`)."""
        return sorted(handler.process.pid for handler in self.handlers.values() if isinstance(handler, FunctionProcess))

    def close(self) -> None:
        for handler in self.handlers.values():
            close = getattr(handler, "close", None)
            if close:
                close()


def decisions(result) -> list[str]:
    """The submit function's decisions in an invocation's result, a line each."""
    if not isinstance(result, dict) or "jobs" not in result:
        return []
    lines = [f"submit: job {job} queued" for job in result.get("jobs") or []]
    lines += [f"submit: job {r.get('job_id')} REJECTED: {r.get('reason')}" for r in result.get("rejected") or []]
    lines += [f"submit: job {job} is a duplicate of a submission already taken: nothing queued"
              for job in result.get("duplicates") or []]
    lines += [f"submit: {key} ignored: not a submission of a configured lab" for key in result.get("ignored") or []]
    return lines


class Router:
    """THREADS pollers of the router queue, each running the handler on the events it gets;
    `report` gets a line per decision of the submit function."""

    def __init__(self, sqs, queue_url: str, handler: Callable[[dict], Invocation],
                 report: Callable[[str], None] | None = None):
        self.sqs, self.queue_url, self.handler = sqs, queue_url, handler
        self.report = report
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, name=f"ncap-s3-router-{n}", daemon=True)
                        for n in range(THREADS)]

    def start(self) -> None:
        self.handler({"Records": []})  # warm start: the handler makes its clients in one thread
        for thread in self.threads:
            thread.start()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._poll_once()
            except Exception as exc:  # the emulator went away or answered badly: keep the loop alive
                LOG.warning(json.dumps({"decision": "router-error", "error": str(exc)[:200]}))
                self.stopping.wait(1.0)

    def _poll_once(self) -> None:
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            if self._deliver(json.loads(message["Body"])):
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _deliver(self, event: dict) -> bool:
        if "Records" not in event:  # S3's test event when notifications are configured
            return True
        outcome = self.handler(event)
        if not outcome.ok:
            error = (outcome.error or {}).get("errorMessage", "")
            LOG.warning(json.dumps({"decision": "submit-error-retry", "error": error[:200]}))
        elif self.report is not None:
            results = outcome.result.values() if isinstance(outcome.result, dict) and "jobs" not in outcome.result \
                else [outcome.result]
            for line in (line for result in results for line in decisions(result)):
                self.report(line)
        return outcome.ok

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=5)
        close = getattr(self.handler, "close", None)
        if close:  # a Dispatcher ends the functions' processes
            close()
