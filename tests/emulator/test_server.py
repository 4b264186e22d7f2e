"""The emulator: moto's server with its module list read once and no access log;
every other behaviour is moto's own (the rest of the suite runs on it)."""
import logging
import os
import subprocess
import sys
import time
import urllib.request

from ncap_iac.emulator import server as emulator


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


def test_the_server_process_binds_a_free_port_and_says_which(tmp_path):
    """No probe-then-bind race: the process binds port 0 and writes the port it got."""
    port_file = tmp_path / "port"
    process = subprocess.Popen([sys.executable, "-m", "ncap_iac.emulator.server", "--port-file", str(port_file)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(port_file.read_text())
        with urllib.request.urlopen(f"http://localhost:{port}/moto-api/", timeout=5) as answer:
            assert answer.status == 200 and port > 0
    finally:
        process.kill()
        process.wait()
