"""The embedded AWS: the emulator (ncap_iac.emulator.server) on localhost, as a child process of
the local cloud. Without --port it binds a free port itself and reports it, so no other process
can take the port between a probe and the bind."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import NcapError

HOST = "127.0.0.1"
START_TIMEOUT = 20.0


@dataclass
class MotoServer:
    port: int
    process: subprocess.Popen

    @property
    def endpoint(self) -> str:
        # moto parses path-style S3 URLs only for a "localhost" host
        return f"http://localhost:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def check_port_free(port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            raise NcapError(f"port {port} on {HOST} is taken; choose another with --port") from None


def start(port: int | None, log_file: Path) -> MotoServer:
    """Start the emulator on HOST:port (a free one when None) and wait until it answers."""
    if port:
        check_port_free(port)
    port_file = log_file.with_name("moto.port")
    port_file.unlink(missing_ok=True)
    log = log_file.open("ab")
    process = subprocess.Popen([sys.executable, "-m", "ncap_iac.emulator.server", "--host", HOST,
                                "--port", str(port or 0), "--port-file", str(port_file),
                                "--mail-dir", str(log_file.parent / "mail")],
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    server = MotoServer(_wait_for_port(process, port_file, log_file), process)
    _wait_until_up(server, log_file)
    return server


def _wait_for_port(process: subprocess.Popen, port_file: Path, log_file: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if port_file.exists():
            return int(port_file.read_text(encoding="ascii"))
        if process.poll() is not None:
            raise NcapError(f"the AWS emulator (moto) exited at start-up; see {log_file}")
        time.sleep(0.05)
    process.kill()
    raise NcapError(f"the AWS emulator did not start within {START_TIMEOUT:.0f} s; see {log_file}")


def _wait_until_up(server: MotoServer, log_file: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise NcapError(f"the AWS emulator (moto) exited at start-up; see {log_file}")
        if responding(server.endpoint):
            return
        time.sleep(0.05)
    server.stop()
    raise NcapError(f"the AWS emulator did not answer within {START_TIMEOUT:.0f} s; see {log_file}")


def responding(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def post(endpoint: str, path: str, body: bytes = b"") -> None:
    request = urllib.request.Request(f"{endpoint}{path}", data=body, method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()
