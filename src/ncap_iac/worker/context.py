"""What every job of one agent shares: its settings, AWS clients, the labs' job roles and the
credentials endpoint, the queue's maxReceiveCount, the interrupt, the working folder, the worker's
name in logs and status.json, its instance in the group (None when it runs outside one) and what an
hour of it costs."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from .aws import Clients
from .credentials import JobRoles
from .endpoint import Endpoint
from .instance import Instance
from .ledger import InstanceSpend
from .runner import Interrupt
from .settings import Settings
from .spot_price import Prices

BACKOFF_CAP = 60  # seconds a failed job waits before its retry, at most


@dataclass(frozen=True)
class Context:
    settings: Settings
    clients: Clients
    max_receives: int | None  # None: the queue has no redrive policy
    interrupt: Interrupt
    workdir: Path
    worker: str
    roles: JobRoles
    endpoint: Endpoint
    instance: Instance | None = None
    spend: InstanceSpend = field(default_factory=InstanceSpend)  # each lab's attempt seconds here
    prices: Prices | None = None  # this instance's hourly price (None: no --hourly-price-usd, no ledger)

    @property
    def fifo(self) -> bool:
        return self.settings.queue_url.endswith(".fifo")

    def lab_s3(self, affiliate: str):
        """The agent's S3 client for one lab (its job role)."""
        return self.roles.agent_s3(affiliate)

    def last_attempt(self, receive_count: int) -> bool:
        return self.max_receives is not None and receive_count >= self.max_receives

    def retry_delay(self, receive_count: int) -> int:
        """0, 1, 3, 7, 15 ... seconds after the 1st, 2nd, 3rd ... failed receive; capped."""
        return min(BACKOFF_CAP, 2 ** min(receive_count - 1, 16) - 1)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
