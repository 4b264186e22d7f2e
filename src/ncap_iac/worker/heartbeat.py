"""While a job runs, keep its message hidden: every third of the step, set its visibility to one
step ahead. If the worker dies, the message is visible again within one step."""
from __future__ import annotations

import logging
import threading

from .aws import describe
from .log import decision
from .queue import set_visibility


class Heartbeat:
    def __init__(self, sqs, queue_url: str, delivery, step: int, **fields):
        self.sqs, self.queue_url, self.delivery, self.step = sqs, queue_url, delivery, step
        self.fields = fields
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop extending (before the message is deleted or released); idempotent."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.step / 3):
            try:
                if not set_visibility(self.sqs, self.queue_url, self.delivery, self.step, **self.fields):
                    return  # the message is gone: nothing left to extend
                self.beats += 1
            except Exception as error:  # a network blip: the next beat tries again
                decision("heartbeat-failed", logging.WARNING, error=describe(error), **self.fields)
