"""The local cloud's emulator process (local/server.py): without --port it binds a free port itself
and reports it in STATE/moto.port (a stale file from an earlier run is not believed); a taken
--port, or an emulator that dies at start-up, is one clean NcapError; stop() ends the process."""
import socket
import sys
from pathlib import Path

import pytest

from ncap_iac.errors import NcapError
from ncap_iac.local import server


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def test_start_binds_a_free_port_reports_it_and_stop_ends_the_process(tmp_path):
    log = tmp_path / "moto.log"
    (tmp_path / "moto.port").write_text("1")  # left by an earlier run
    emulator = server.start(None, log)
    try:
        port_file = tmp_path / "moto.port"
        assert emulator.port == int(port_file.read_text()) and emulator.port != 1
        assert emulator.endpoint == f"http://localhost:{emulator.port}"
        assert server.responding(emulator.endpoint)
        args = cmdline(emulator.process.pid)
        assert args[args.index("--port") + 1] == "0" and args[args.index("--port-file") + 1] == str(port_file)
        assert log.exists()
    finally:
        emulator.stop()
    assert emulator.process.poll() is not None
    assert not server.responding(emulator.endpoint)
    emulator.stop()  # stopping a stopped emulator is harmless


def test_a_taken_port_is_a_clean_error_and_nothing_starts(tmp_path):
    with socket.socket() as holder:
        holder.bind((server.HOST, 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(NcapError) as raised:
            server.start(port, tmp_path / "moto.log")
    assert str(raised.value) == f"port {port} on 127.0.0.1 is taken; choose another with --port"
    assert not (tmp_path / "moto.log").exists() and not (tmp_path / "moto.port").exists()


def test_an_emulator_that_exits_at_start_up_is_a_clean_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the emulator process exits at once
    with pytest.raises(NcapError) as raised:
        server.start(None, tmp_path / "moto.log")
    assert str(raised.value) == f"the AWS emulator (moto) exited at start-up; see {tmp_path / 'moto.log'}"


def test_nothing_listening_is_not_responding():
    with socket.socket() as probe:
        probe.bind((server.HOST, 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        assert not server.responding(f"http://localhost:{port}")
