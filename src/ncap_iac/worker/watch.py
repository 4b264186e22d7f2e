"""While a job's command runs: its log goes up for the lab to follow, and its lab's cancel request
stops it.

- Every --log-seconds (default 10), when the log grew, it is uploaded to its key in the lab's logs
  folder: `ncap lab logs --follow` shows lines long before the job ends. The dataset's status gets
  `log_key` and `last_logged` at the first upload and then at most once a minute (status.json is
  one object all the job's writers share).
- Every --watch-seconds (default 5) the job's status.json is read; once it carries
  `cancel_requested` (the submit function wrote it for a member of the lab), the job's own cancel
  fires and the runner stops the command's whole process tree.

Both run in one thread per running job with the lab's job-role client; a failure is logged and
tried again at the next tick, never fails the job."""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from ..lambda_repo.ncap_lambda import contract
from . import status_store, storage
from .aws import describe
from .log import decision
from .runner import Interrupt

CANCELLED_REASON = "cancelled by a member of the lab"
STATUS_EVERY_SECONDS = 60.0  # last_logged is written at most this often


class JobWatch:
    def __init__(self, s3, task, log: Path, log_key: str, log_seconds: float, watch_seconds: float, **fields):
        self.s3, self.task, self.log, self.log_key = s3, task, log, log_key
        self.log_seconds, self.watch_seconds, self.fields = log_seconds, watch_seconds, fields
        self.cancel = Interrupt()  # fired when the lab asked to cancel the job
        self.shipped = -1  # bytes of the log last uploaded
        self.noted = -STATUS_EVERY_SECONDS  # when last_logged was last written (monotonic)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-watch", daemon=True)

    def __enter__(self) -> JobWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        tick = min(self.log_seconds, self.watch_seconds)
        next_log, next_look = time.monotonic() + self.log_seconds, time.monotonic() + self.watch_seconds
        while not self._stop.wait(tick):
            now = time.monotonic()
            if now >= next_look:
                next_look = now + self.watch_seconds
                self._look_for_cancel()
            if now >= next_log:
                next_log = now + self.log_seconds
                self._ship_log()

    def _look_for_cancel(self) -> None:
        if self.cancel.fired:
            return
        try:
            document = status_store.read(self.s3, self.task).document
        except Exception as error:
            decision("cancel-check-failed", logging.WARNING, error=describe(error), **self.fields)
            return
        if contract.cancel_requested(document):
            decision("cancel-requested", logging.INFO, **self.fields)
            self.cancel.fire(CANCELLED_REASON)

    def _ship_log(self) -> None:
        try:
            size = self.log.stat().st_size
        except OSError:
            return
        if size == self.shipped:
            return
        try:
            storage.upload_log(self.s3, self.task.bucket, self.log_key, self.log)
            self.shipped = size
            if time.monotonic() - self.noted >= STATUS_EVERY_SECONDS:
                status_store.update(self.s3, self.task, {"status": contract.RUNNING, "log_key": self.log_key,
                                                         "last_logged": contract.now()})
                self.noted = time.monotonic()  # once written: a write that failed is tried at the next shipment
        except Exception as error:
            decision("log-ship-failed", logging.WARNING, error=describe(error), **self.fields)
