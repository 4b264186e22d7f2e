"""The command runner: exit codes, the log, timeouts and the SIGTERM interrupt kill the whole
process tree, a command that cannot start, stragglers of a finished command."""
import os
import sys
import threading
import time

from ncap_iac.worker.runner import Interrupt, run, tail

PY = sys.executable


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gone(pid: int, timeout: float = 10.0) -> bool:
    """True once `pid` is gone (a signal takes effect a moment after it is sent)."""
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)


def wait_for_pid(path, timeout=10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.02)
    raise AssertionError("the command did not start its child")


def test_exit_code_and_output_in_the_log(tmp_path):
    log = tmp_path / "log.txt"
    result = run(["bash", "-c", "echo out; echo err >&2; exit 3"], dict(os.environ), tmp_path, log, 0, Interrupt())
    assert (result.exit_code, result.ok, result.timed_out, result.interrupted) == (3, False, False, False)
    assert log.read_text().splitlines() == ["out", "err"]


def test_timeout_kills_the_whole_tree(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    result = run(["bash", "-c", script], dict(os.environ), tmp_path, tmp_path / "log", 1, Interrupt())
    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 15
    assert gone(wait_for_pid(pid_file)), "the grandchild is gone too"


def test_the_interrupt_stops_a_running_command(tmp_path):
    interrupt, pid_file = Interrupt(), tmp_path / "child.pid"
    threading.Timer(0.5, interrupt.fire).start()
    result = run(["bash", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], dict(os.environ), tmp_path,
                 tmp_path / "log", 0, interrupt)
    assert result.interrupted and not result.timed_out
    assert gone(wait_for_pid(pid_file))


def test_after_the_interrupt_nothing_starts(tmp_path):
    interrupt = Interrupt()
    interrupt.fire()
    result = run(["bash", "-c", f"touch {tmp_path / 'ran'}"], dict(os.environ), tmp_path, tmp_path / "log", 0, interrupt)
    assert result.interrupted and not (tmp_path / "ran").exists()


def test_a_command_that_cannot_start(tmp_path):
    log = tmp_path / "log"
    result = run(["/nonexistent/program"], dict(os.environ), tmp_path, log, 0, Interrupt())
    assert result.exit_code == 127 and "cannot start the command" in log.read_text()


def test_stragglers_of_a_finished_command_are_killed(tmp_path):
    pid_file = tmp_path / "child.pid"
    result = run(["bash", "-c", f"sleep 60 & echo $! > {pid_file}; exit 0"], dict(os.environ), tmp_path,
                 tmp_path / "log", 0, Interrupt())
    assert result.ok
    assert gone(wait_for_pid(pid_file))


def test_tail_keeps_the_last_lines(tmp_path):
    log = tmp_path / "log"
    log.write_text("".join(f"line {n}\n" for n in range(100)) + "x" * 1000 + "\n")
    lines = tail(log).splitlines()
    assert len(lines) == 20 and lines[0] == "line 81" and len(lines[-1]) == 300
