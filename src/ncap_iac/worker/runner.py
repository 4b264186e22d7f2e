"""Run one job's command: its own process group (a timeout or an interrupt kills the whole tree),
stdin closed, stdout and stderr streamed into the log file, as the given unprivileged user when
there is one (its own primary group, no supplementary groups)."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

KILL_WAIT = 5.0  # seconds between SIGTERM and SIGKILL of the process group
TAIL_BYTES = 16384


@dataclass(frozen=True)
class Run:
    exit_code: int | None  # None: killed by the agent (timed out or interrupted)
    seconds: float
    timed_out: bool = False
    interrupted: bool = False
    interrupted_by: str | None = None  # why the interrupt fired
    cancelled: bool = False  # a member of the job's lab cancelled it

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Interrupt:
    """Fired once (the SIGTERM grace is over, or the instance is going away): every running
    command is stopped, and its job goes back to the queue."""

    def __init__(self):
        self._lock = threading.Lock()
        self._wakes: set[threading.Event] = set()
        self.fired = False
        self.reason: str | None = None

    def fire(self, reason: str = "the worker was stopped (SIGTERM) and its grace period ran out") -> None:
        with self._lock:
            if not self.fired:
                self.reason = reason
            self.fired = True
            for wake in self._wakes:
                wake.set()

    def watch(self, wake: threading.Event) -> None:
        with self._lock:
            self._wakes.add(wake)
            if self.fired:
                wake.set()

    def unwatch(self, wake: threading.Event) -> None:
        with self._lock:
            self._wakes.discard(wake)


def run(argv: list[str], env: dict, cwd: Path, log_path: Path, timeout: float,
        interrupt: Interrupt, user: str | None = None, cancel: Interrupt | None = None) -> Run:
    """Run argv to the end, the timeout (0: none), the interrupt or this job's `cancel`, whichever
    comes first."""
    started = time.monotonic()
    if interrupt.fired:
        return Run(None, 0.0, interrupted=True, interrupted_by=interrupt.reason)
    try:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True, **as_user(user))
    except OSError as error:
        note(log_path, f"cannot start the command: {error.strerror or error}")
        return Run(127, time.monotonic() - started)
    try:
        return supervise(process, started, timeout, interrupt, cancel or Interrupt())
    finally:
        if user is not None:  # what the job started outside its process group ends with it
            kill_user_processes(as_user(user)["user"])


def supervise(process: subprocess.Popen, started: float, timeout: float, interrupt: Interrupt,
              cancel: Interrupt) -> Run:
    done, wake = threading.Event(), threading.Event()
    threading.Thread(target=reap, args=(process, done, wake), name="reaper", daemon=True).start()
    interrupt.watch(wake)
    cancel.watch(wake)
    deadline = started + timeout if timeout else None
    try:
        while True:
            wake.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if done.is_set():
                return Run(process.returncode, time.monotonic() - started)
            timed_out = deadline is not None and time.monotonic() >= deadline
            if interrupt.fired or cancel.fired or timed_out:
                stop(process, done)
                return Run(None, time.monotonic() - started, timed_out=timed_out and not interrupt.fired,
                           interrupted=interrupt.fired, interrupted_by=interrupt.reason,
                           cancelled=cancel.fired and not interrupt.fired)
    finally:
        interrupt.unwatch(wake)
        cancel.unwatch(wake)
        signal_group(process.pid, signal.SIGKILL)  # whatever the command left running


def kill_user_processes(uid: int, rounds: int = 5) -> None:
    """SIGKILL every process of `uid` (the job's user runs nothing between jobs), until none is left."""
    for _ in range(rounds):
        found = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit() and _owner(entry) == uid]
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


def _owner(entry: Path) -> int | None:
    try:
        return entry.stat().st_uid
    except OSError:
        return None


def as_user(user: str | None) -> dict:
    """Popen's arguments that run the command as `user` (none: as the agent)."""
    if user is None:
        return {}
    import pwd

    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "umask": 0o077}


def reap(process: subprocess.Popen, done: threading.Event, wake: threading.Event) -> None:
    process.wait()
    done.set()
    wake.set()


def stop(process: subprocess.Popen, done: threading.Event) -> None:
    """SIGTERM to the group, SIGKILL after KILL_WAIT seconds; wait until the leader is gone."""
    signal_group(process.pid, signal.SIGTERM)
    if not done.wait(KILL_WAIT):
        signal_group(process.pid, signal.SIGKILL)
        done.wait()


def signal_group(pgid: int, number: int) -> None:
    try:
        os.killpg(pgid, number)
    except (ProcessLookupError, PermissionError):
        pass


def note(log_path: Path, line: str) -> None:
    """Append a line of the agent's own to the job log."""
    with open(log_path, "a", encoding="utf-8", errors="backslashreplace") as log:
        log.write(f"[ncap worker] {line}\n")


def tail(log_path: Path, lines: int = 20, width: int = 300) -> str:
    """The last `lines` lines of the log (each cut to `width` characters)."""
    try:
        with open(log_path, "rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - TAIL_BYTES))
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(line[:width] for line in text.splitlines()[-lines:])
