"""The agent's loop: K slots, each long-polling the queue for one message at a time and handling
it (job.handle). SIGTERM or SIGINT: stop receiving, give running jobs --grace seconds, then
interrupt them (their messages go back to the queue at once); exit 0. --idle-exit: exit 0 after
that many seconds with no message and no job running. --max-jobs: exit 0 after that many messages."""
from __future__ import annotations

import logging
import math
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

from ..errors import NcapError
from . import background, queue, workspace
from .aws import describe, make_clients
from .context import Context, worker_name
from .job import handle
from .log import decision, to_stderr
from .runner import Interrupt
from .settings import from_args

RECEIVE_BACKOFF_CAP = 30.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Agent:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.taken = 0  # messages received or being polled for (counted against --max-jobs)
        self.running = 0
        self.handled = 0
        self.last_activity = time.monotonic()
        self._grace_timer: threading.Timer | None = None

    def run(self) -> int:
        slots = [threading.Thread(target=self.slot, name=f"slot-{n}", daemon=True)
                 for n in range(self.ctx.settings.concurrency)]
        for thread in slots:
            thread.start()
        for thread in slots:
            while thread.is_alive():
                thread.join(0.5)
        if self._grace_timer:
            self._grace_timer.cancel()
        background.settle()  # deletions of finished jobs' messages
        workspace.settle()
        decision("stopped", worker=self.ctx.worker, handled=self.handled)
        return 0

    def on_signal(self, number, _frame=None) -> None:
        """SIGTERM/SIGINT: stop taking jobs; interrupt running ones after the grace period."""
        if self.stopping.is_set() and self._grace_timer:
            return
        self.stop(signal.Signals(number).name, grace=self.ctx.settings.grace)
        self._grace_timer = threading.Timer(self.ctx.settings.grace, self.ctx.interrupt.fire)
        self._grace_timer.daemon = True
        self._grace_timer.start()

    def stop(self, why: str, **fields) -> None:
        if not self.stopping.is_set():
            self.stopping.set()
            decision("stopping", worker=self.ctx.worker, why=why, running=self.running, **fields)

    def slot(self) -> None:
        failures = 0
        while self.take_turn():
            try:
                delivery = self.poll()
                failures = 0
            except Exception as error:
                failures += 1
                self.untake()
                self.receive_failed(error, failures)
                continue
            if delivery is not None:
                self.process(delivery)

    def take_turn(self) -> bool:
        limit = self.ctx.settings.max_jobs
        with self._lock:
            if self.stopping.is_set() or (limit is not None and self.taken >= limit):
                return False
            self.taken += 1
            return True

    def untake(self) -> None:
        with self._lock:
            self.taken -= 1

    def poll(self):
        """One long poll: the delivery, or None (nothing came, or the agent is now idle)."""
        wait = self.poll_wait()
        if wait is None:
            self.untake()
            self.stop("idle", idle_exit=self.ctx.settings.idle_exit)
            return None
        s = self.ctx.settings
        delivery = queue.receive(self.ctx.clients.sqs, s.queue_url, wait, s.heartbeat)
        with self._lock:
            if delivery is None:
                self.taken -= 1
            else:
                self.running += 1
                self.last_activity = time.monotonic()
        return delivery

    def poll_wait(self) -> int | None:
        """Seconds to long-poll for; None when --idle-exit has run out with nothing running."""
        s = self.ctx.settings
        with self._lock:
            if s.idle_exit is None or self.running:
                return s.poll_seconds
            remaining = self.last_activity + s.idle_exit - time.monotonic()
        if remaining <= 0:
            return None
        return max(1, min(s.poll_seconds, math.ceil(remaining)))

    def process(self, delivery) -> None:
        try:
            if self.stopping.is_set():
                self.give_back(delivery)
            else:
                handle(self.ctx, delivery)
        except Exception as error:  # job.handle never raises; this keeps the agent up regardless
            decision("error", logging.ERROR, error=describe(error), message_id=delivery.message_id)
        finally:
            with self._lock:
                self.running -= 1
                self.handled += 1
                self.last_activity = time.monotonic()

    def give_back(self, delivery) -> None:
        """A message that arrived after the agent began to stop goes back at once, unrun."""
        s = self.ctx.settings
        queue.set_visibility(self.ctx.clients.sqs, s.queue_url, delivery, 0)
        decision("returned-unrun", message_id=delivery.message_id, why="the agent is stopping")

    def receive_failed(self, error: Exception, failures: int) -> None:
        delay = min(RECEIVE_BACKOFF_CAP, 2.0 ** (failures - 1))
        decision("receive-failed", logging.WARNING, error=describe(error), retry_in=delay)
        self.stopping.wait(delay)


def serve(args) -> int:
    """`ncap worker`: check the options, connect, run until stopped."""
    early = []  # a SIGTERM during start-up (importing boto3 takes a while) is kept, not fatal
    for number in STOP_SIGNALS:
        signal.signal(number, lambda number, _frame: early.append(number))
    settings = from_args(args)
    to_stderr()
    ctx, temporary = connect(settings)
    agent = Agent(ctx)
    for number in STOP_SIGNALS:
        signal.signal(number, agent.on_signal)
    announce(ctx)
    if early:
        agent.on_signal(early[0])
    try:
        return agent.run()
    finally:
        if temporary:
            shutil.rmtree(ctx.workdir, ignore_errors=True)


def connect(settings) -> tuple[Context, bool]:
    """The agent's Context, and whether its working folder is a temporary one."""
    workdir, temporary = working_folder(settings.workdir)
    clients = make_clients(settings.region, settings.concurrency, settings.poll_seconds)
    max_receives = queue.max_receive_count(clients.sqs, settings.queue_url)
    return Context(settings, clients, max_receives, Interrupt(), workdir, worker_name()), temporary


def working_folder(given: Path | None) -> tuple[Path, bool]:
    """(folder for job folders, whether it is a temporary one to remove at exit)."""
    try:
        if given is None:
            return Path(tempfile.mkdtemp(prefix="ncap-worker-")), True
        given.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise NcapError(f"--workdir: cannot make {given or 'a temporary folder'}: "
                        f"{error.strerror or error}") from None
    return given.resolve(), False


def announce(ctx: Context) -> None:
    s = ctx.settings
    decision("started", worker=ctx.worker, queue_url=s.queue_url, bucket=s.bucket,
             concurrency=s.concurrency, heartbeat=s.heartbeat, job_timeout=s.job_timeout,
             max_receives=ctx.max_receives)
    if ctx.max_receives is None:
        decision("no-redrive-policy", logging.WARNING, worker=ctx.worker,
                 why="the queue has no redrive policy: a failing job is retried forever "
                     "(with a backoff of up to 60 s) and never marked FAILED")
