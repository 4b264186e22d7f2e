"""SQS clients that fail on purpose, wrapped around a real one (the moto server's) or standing
alone: the worker's paths that must never raise are driven through them."""
from __future__ import annotations

import threading

from botocore.exceptions import ClientError, EndpointConnectionError


def aws_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (made by the test)"}}, operation)


class FailingSqs:
    """Delegates to `sqs`, except that the named operations raise: `failures[operation]` is
    (error factory, how many calls fail: None for all, and which calls: a predicate on the
    request). Calls that failed are counted in `failed`."""

    def __init__(self, sqs, **failures):
        self.sqs, self.failures = sqs, failures
        self.failed: dict[str, int] = {}
        self.lock = threading.Lock()
        self.on_failure = None  # called (operation) after each failure, e.g. to mark a file

    def __getattr__(self, name):
        attribute = getattr(self.sqs, name)
        if name not in self.failures:
            return attribute

        def call(**request):
            make, times, when = (self.failures[name] + (None, None))[:3]
            with self.lock:
                due = (times is None or self.failed.get(name, 0) < times) and (when is None or when(request))
                if due:
                    self.failed[name] = self.failed.get(name, 0) + 1
            if due:
                if self.on_failure:
                    self.on_failure(name)
                raise make()
            return attribute(**request)

        return call


class StandaloneSqs:
    """No queue at all: each change_message_visibility answers from `answers` in turn (an
    exception to raise, or None for success), the last one for ever after."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), []

    def change_message_visibility(self, **request):
        self.calls.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer is not None:
            raise answer
        return {}

    def delete_message(self, **request):
        return self.change_message_visibility(**request)


def connection_error() -> EndpointConnectionError:
    return EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com/")
