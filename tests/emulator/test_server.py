"""The emulator: moto's server with its module list read once, no access log, and IAM enforced as
AWS does (test_enforce*.py: what; here: that both ways of running the server install it)."""
import contextlib
import logging
import os
import subprocess
import sys
import time
import urllib.request

import boto3

from ncap_iac.emulator import enforce
from ncap_iac.emulator import server as emulator

from .conftest import REGION, allow, denied, document, post


def test_quicken_keeps_the_module_list_moto_would_read_each_time():
    from moto import backends

    emulator.quicken()
    cached = backends.list_of_moto_modules
    listed = sorted(name for name in os.listdir(os.path.dirname(backends.__file__))
                    if os.path.isdir(os.path.join(os.path.dirname(backends.__file__), name))
                    and not name.startswith("__"))
    assert list(cached()) == listed and "s3" in listed and "sqs" in listed
    emulator.quicken()
    assert backends.list_of_moto_modules is cached, "quicken is idempotent"


def test_access_lines_are_not_logged_but_warnings_are():
    emulator.quicken()
    werkzeug = logging.getLogger("werkzeug")
    assert not werkzeug.isEnabledFor(logging.INFO) and werkzeug.isEnabledFor(logging.WARNING)


def test_threaded_server_answers_on_localhost_and_stops():
    server = emulator.threaded_server()
    endpoint = emulator.endpoint_of(server)
    try:
        assert endpoint.startswith("http://localhost:")
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=5) as answer:
            assert answer.status == 200
    finally:
        server.stop()


def test_quicken_installs_the_iam_enforcement_once():
    from moto.iam.access_control import IAMRequestBase
    from moto.sts.responses import TokenResponse

    emulator.quicken()
    recording = TokenResponse.assume_role
    assert IAMRequestBase.check_action_permitted is enforce.check_action_permitted
    emulator.quicken()
    assert TokenResponse.assume_role is recording, "quicken is idempotent: moto's methods are wrapped once"


@contextlib.contextmanager
def server_process(tmp_path):
    """`python -m ncap_iac.emulator.server` on a free port: its port."""
    port_file = tmp_path / "port"
    process = subprocess.Popen([sys.executable, "-m", "ncap_iac.emulator.server", "--port-file", str(port_file)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        yield int(port_file.read_text())
    finally:
        process.kill()
        process.wait()


def test_the_server_process_binds_a_free_port_and_says_which(tmp_path):
    """No probe-then-bind race: the process binds port 0 and writes the port it got."""
    with server_process(tmp_path) as port:
        with urllib.request.urlopen(f"http://localhost:{port}/moto-api/", timeout=5) as answer:
            assert answer.status == 200 and port > 0


def test_the_server_process_enforces_iam_as_aws(tmp_path, monkeypatch):
    """A lab's listing outside its prefix, which moto's own server allows, is denied."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with server_process(tmp_path) as port:
        endpoint = f"http://localhost:{port}"
        iam, s3 = (boto3.client(name, endpoint_url=endpoint, region_name=REGION) for name in ("iam", "s3"))
        s3.create_bucket(Bucket="ncap-process")
        iam.create_user(UserName="alice")
        iam.put_user_policy(UserName="alice", PolicyName="lab", PolicyDocument=document(allow(
            "s3:ListBucket", "arn:aws:s3:::ncap-process", Condition={"StringLike": {"s3:prefix": "lab-a/*"}})))
        key = iam.create_access_key(UserName="alice")["AccessKey"]
        post(endpoint, "/moto-api/reset-auth", b"0")
        alice = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key["AccessKeyId"],
                             aws_secret_access_key=key["SecretAccessKey"])
        assert not denied(lambda: alice.list_objects_v2(Bucket="ncap-process", Prefix="lab-a/x"))
        assert denied(lambda: alice.list_objects_v2(Bucket="ncap-process", Prefix="lab-b/"))
