"""What every job of one agent shares: its settings, AWS clients, the queue's maxReceiveCount,
the SIGTERM interrupt, the working folder and the worker's name in logs and status.json."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from .aws import Clients
from .runner import Interrupt
from .settings import Settings

BACKOFF_CAP = 60  # seconds a failed job waits before its retry, at most


@dataclass(frozen=True)
class Context:
    settings: Settings
    clients: Clients
    max_receives: int | None  # None: the queue has no redrive policy
    interrupt: Interrupt
    workdir: Path
    worker: str

    def last_attempt(self, receive_count: int) -> bool:
        return self.max_receives is not None and receive_count >= self.max_receives

    def retry_delay(self, receive_count: int) -> int:
        """0, 1, 3, 7, 15 ... seconds after the 1st, 2nd, 3rd ... failed receive; capped."""
        return min(BACKOFF_CAP, 2 ** min(receive_count - 1, 16) - 1)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
