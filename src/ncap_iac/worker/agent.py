"""The agent's loop: K slots, each long-polling the queue for one message at a time and handling
it (job.handle). SIGTERM or SIGINT: stop receiving, give running jobs --grace seconds, then
interrupt them (they are queued again at once); exit 0. In a group (--group): scale-in protection
while a job runs, and an interruption notice (Spot, or the terminating lifecycle hook) stops
receiving and interrupts running jobs at once, then lets the termination go on. --idle-exit: exit 0
after that many seconds with no message and no job running. --max-jobs: exit 0 after that many
messages."""
from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..errors import NcapError
from . import background, ledger, queue, workspace
from .aws import describe, make_clients
from .context import Context, worker_name
from .credentials import JobRoles
from .endpoint import Endpoint
from .instance import (
    WARM_POOL,
    Instance,
    Metadata,
    group_notice,
    launch_time,
    metadata_notice,
    metadata_target_state,
    spot_zone,
)
from .instance import instance_type as metadata_instance_type
from .job import handle
from .log import decision, to_stderr
from .messages import BadMessage, parse
from .runner import Interrupt
from .settings import Settings, from_args
from .spot_price import Prices, history_reader

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
        self.notice: str | None = None  # why the instance is going away, once it is
        self.left_group = False  # the agent itself terminated its instance (idle exit)

    def run(self) -> int:
        instance = self.ctx.instance
        if instance is not None and not instance.wait_in_service(self.stopping, self.ctx.settings.watch_seconds):
            self.leave()
            decision("stopped", worker=self.ctx.worker, handled=0, why="stopped before the instance was in service")
            return 0
        slots = [threading.Thread(target=self.slot, name=f"slot-{n}", daemon=True)
                 for n in range(self.ctx.settings.concurrency)]
        for thread in slots:
            thread.start()
        if self.ctx.instance is not None:
            threading.Thread(target=self.watch, name="notices", daemon=True).start()
        for thread in slots:
            while thread.is_alive():
                thread.join(0.5)
        if self._grace_timer:
            self._grace_timer.cancel()
        background.settle()  # deletions of finished jobs' messages
        workspace.settle()
        self.leave()
        decision("stopped", worker=self.ctx.worker, handled=self.handled)
        return 0

    def leave(self) -> None:
        """Unprotected and, when the group is terminating the instance, let it go on."""
        instance = self.ctx.instance
        if instance is not None:
            instance.protect(False)
            instance.settle()
            if self.notice in ("terminating", WARM_POOL) or self.left_group:
                # an idle exit's termination waits on the group's terminating hook too: go on at
                # once rather than be billed for the hook's timeout
                instance.continue_termination(tries=3 if self.left_group else 1)
        self.ctx.endpoint.stop()

    def watch(self) -> None:
        """Look for an interruption notice until the agent stops; on one, interrupt at once."""
        instance = self.ctx.instance
        while instance is not None and not self.stopping.wait(self.ctx.settings.watch_seconds):
            notice = instance.notice()
            if notice:
                self.notice = notice
                self.stop("interrupted", notice=notice)
                self.ctx.interrupt.fire(f"the instance is going away ({notice})")
                return

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
        if wait is None and not self.leave_when_idle():
            wait = self.ctx.settings.poll_seconds
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
                if self.running == 1 and self.ctx.instance is not None:
                    self.ctx.instance.protect(True)
        return delivery

    def leave_when_idle(self) -> bool:
        """Idle past --idle-exit: outside a group, go; in one, go only once the group let this
        instance go (else idle time starts again)."""
        instance = self.ctx.instance
        if instance is None:
            return True
        instance.settle()  # unprotected first: a protected instance cannot be terminated
        if instance.leave_group():
            self.left_group = True
            return True
        with self._lock:
            self.last_activity = time.monotonic()
        return False

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
                if self.running == 0 and self.ctx.instance is not None:
                    self.ctx.instance.protect(False)

    def give_back(self, delivery) -> None:
        """A message that arrived after the agent began to stop goes back at once, unrun (queued
        again as a new message, so that it does not count as a failed receive)."""
        s = self.ctx.settings
        try:
            task = parse(delivery.body, s.bucket)
        except BadMessage:
            queue.set_visibility(self.ctx.clients.sqs, s.queue_url, delivery, 0)
        else:
            queue.requeue(self.ctx.clients.sqs, s.queue_url, delivery, task.affiliate if self.ctx.fifo else None)
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
        code = agent.run()
        ledger.close_instance(ctx)
    finally:
        if temporary:
            shutil.rmtree(ctx.workdir, ignore_errors=True)
    if agent.notice == WARM_POOL and settings.launching_hook:
        wait_again()
    return code


def wait_again() -> None:
    """Back to the warm pool: the agent starts over as a new process, which waits until the
    instance is in service again. A stopped instance's process ends with the stop (the next boot
    starts the agent); a hibernated one's resumes where it waited."""
    decision("back-to-warm-pool", why="the agent starts over and waits until the instance is in service")
    main = sys.modules["__main__"].__spec__
    module = main.name.removesuffix(".__main__") if main is not None else "ncap_iac.worker"
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", module, *sys.argv[1:]])


def connect(settings: Settings) -> tuple[Context, bool]:
    """The agent's Context, and whether its working folder is a temporary one."""
    workdir, temporary = working_folder(settings.workdir, settings.run_as is not None)
    clients = make_clients(settings.region, settings.concurrency, settings.poll_seconds)
    max_receives = queue.max_receive_count(clients.sqs, settings.queue_url)
    instance = in_group(settings, clients)
    name = instance.instance_id if instance is not None else worker_name()
    roles = JobRoles(clients.sts, settings.job_roles, settings.bucket, name, settings.folders, clients.lab_s3)
    return Context(settings, clients, max_receives, Interrupt(), workdir, worker_name(), roles, Endpoint(),
                   instance, prices=prices_of(settings, clients, instance)), temporary


def prices_of(settings: Settings, clients, instance: Instance | None) -> Prices | None:
    """What an hour of this instance costs: the given on-demand price, or on a Spot instance EC2's
    Spot price history for its type and zone. In a group of several types (--hourly-prices) the
    instance's own type is priced."""
    if settings.hourly_price_usd is None or settings.instance_type is None:
        return None
    own = instance.instance_type if instance is not None and settings.hourly_prices else None
    kind = own or settings.instance_type  # the instance's own type, in the ledger and for its Spot price
    listed = settings.hourly_prices.get(own) if own else None  # a type the table lacks: the workers' price
    on_demand = listed.on_demand_usd if listed else settings.hourly_price_usd
    estimate = listed.spot_estimate_usd if listed else None
    if instance is None or instance.spot_zone is None:
        return Prices(on_demand, instance_type=kind)
    return Prices(on_demand, history_reader(clients.credentials, settings.region, kind, instance.spot_zone),
                  estimate, kind)


def in_group(settings: Settings, clients) -> Instance | None:
    """This instance in its group (--group), its notices from the metadata service on EC2, or from
    the group when the id was given (--instance-id, NCAP_INSTANCE_ID: an agent started by hand)."""
    group = settings.group
    if not group:
        return None
    if settings.instance_id:
        instance_id = settings.instance_id

        def notice():
            return group_notice(clients.autoscaling, instance_id, group)
    else:
        metadata = Metadata()
        try:
            instance_id = str(metadata.get("/latest/meta-data/instance-id") or "")
        except OSError as error:
            raise NcapError(f"--group: no --instance-id and no instance metadata service ({error})") from None

        def notice():
            return metadata_notice(metadata)
        return Instance(clients.autoscaling, instance_id, group, settings.lifecycle_hook, notice, launch_time(metadata),
                        spot_zone(metadata), metadata_instance_type(metadata), settings.launching_hook,
                        metadata_target_state(metadata))
    return Instance(clients.autoscaling, instance_id, group, settings.lifecycle_hook, notice)


def working_folder(given: Path | None, shared: bool = False) -> tuple[Path, bool]:
    """(folder for job folders, whether it is a temporary one to remove at exit). `shared`: the
    command runs as another user, who may pass through it to its job's folder (but not list it)."""
    try:
        if given is None:
            folder, temporary = Path(tempfile.mkdtemp(prefix="ncap-worker-")), True
        else:
            given.mkdir(parents=True, exist_ok=True)
            folder, temporary = given.resolve(), False
        os.chmod(folder, 0o711 if shared else 0o700)
    except OSError as error:
        raise NcapError(f"--workdir: cannot make {given or 'a temporary folder'}: "
                        f"{error.strerror or error}") from None
    return folder, temporary


def announce(ctx: Context) -> None:
    s = ctx.settings
    decision("started", worker=ctx.worker, queue_url=s.queue_url, bucket=s.bucket,
             concurrency=s.concurrency, heartbeat=s.heartbeat, job_timeout=s.job_timeout,
             max_receives=ctx.max_receives)
    if s.run_as_stand_in:
        decision("run-as-stand-in", user=s.run_as_stand_in,
                 why="a local cloud instance: jobs run as this machine's own user, not as the job user")
    if ctx.max_receives is None:
        decision("no-redrive-policy", logging.WARNING, worker=ctx.worker,
                 why="the queue has no redrive policy: a failing job is retried forever "
                     "(with a backoff of up to 60 s) and never marked FAILED")
