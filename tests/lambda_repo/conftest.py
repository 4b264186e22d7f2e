"""Fixtures for the Lambda handlers: lambda_repo as its own import root (as in Lambda), a moto
AWS, a real local HTTP server standing in for CloudFormation's ResponseURL, and request events."""
import json
import logging
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

LAMBDA_ROOT = Path(__file__).resolve().parents[2] / "lambda_repo"
if str(LAMBDA_ROOT) not in sys.path:
    sys.path.insert(0, str(LAMBDA_ROOT))

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/lab-pipeline/5b3c8d10-0000-0000-0000-000000000000"
SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:lab-pipeline-handler"


class FakeContext:
    """The part of the Lambda context the handlers use."""

    def __init__(self, remaining_ms=300_000):
        self.remaining_ms = remaining_ms
        self.log_stream_name = "2026/01/01/[$LATEST]test"

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


class RecordingHandler(BaseHTTPRequestHandler):
    """Stores each PUT (headers, raw body) the way CloudFormation's presigned URL would get it."""

    def do_PUT(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append({"path": self.path, "headers": self.headers, "raw": raw,
                                     "body": json.loads(raw)})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class ResponseServer:
    def __init__(self):
        self.httpd = HTTPServer(("127.0.0.1", 0), RecordingHandler)
        self.httpd.received = []
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/cfn-response?X-Amz-Signature=test"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    @property
    def received(self):
        return self.httpd.received

    def last(self):
        assert self.received, "the handler sent no response"
        return self.received[-1]["body"]


@pytest.fixture
def response_server(monkeypatch):
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    server = ResponseServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def aws(monkeypatch):
    """A fresh in-process moto AWS with fake credentials."""
    from moto import mock_aws
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


@pytest.fixture
def context():
    return FakeContext()


@pytest.fixture
def context_with():
    """context_with(remaining_ms) -> a Lambda context with that much time left."""
    return FakeContext


@pytest.fixture
def make_event(response_server):
    """make_event(request_type, properties, old=None, physical_id=None) -> a CloudFormation event."""
    def build(request_type, properties, old=None, physical_id=None, logical_id="Resource"):
        event = {"RequestType": request_type, "ResponseURL": response_server.url,
                 "StackId": STACK_ID, "RequestId": str(uuid.uuid4()),
                 "LogicalResourceId": logical_id, "ResourceType": "Custom::Test",
                 "ResourceProperties": {"ServiceToken": SERVICE_TOKEN, **properties}}
        if old is not None:
            event["OldResourceProperties"] = {"ServiceToken": SERVICE_TOKEN, **old}
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        return event
    return build


@pytest.fixture
def decisions(caplog):
    """decisions() -> the JSON decision lines logged so far, parsed."""
    caplog.set_level(logging.INFO)
    return lambda: [json.loads(record.getMessage()) for record in caplog.records]
