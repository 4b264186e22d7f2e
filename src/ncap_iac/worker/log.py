"""One structured JSON line per decision, on stderr.

Lines carry ids, keys, outcomes, counts and seconds: never a credential, an environment variable or
the content of a file (the last lines of a failed command go to status.json, not here)."""
from __future__ import annotations

import json
import logging
import sys
import time

LOGGER_NAME = "ncap.worker"
LOG = logging.getLogger(LOGGER_NAME)
LOG.setLevel(logging.INFO)


def decision(name: str, level: int = logging.INFO, **fields) -> None:
    """Log `{"decision": name, "time": ..., **fields}` as one sorted JSON line."""
    line = {"decision": name, "time": round(time.time(), 3), **fields}
    LOG.log(level, json.dumps(line, sort_keys=True, default=str))


def to_stderr() -> logging.Handler:
    """Send the worker's lines to stderr, one per record (once per process)."""
    for handler in LOG.handlers:
        if getattr(handler, "ncap_stderr", False):
            return handler
    handler = logging.StreamHandler(sys.stderr)
    handler.ncap_stderr = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(message)s"))
    LOG.addHandler(handler)
    LOG.propagate = False
    return handler
