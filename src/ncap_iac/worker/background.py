"""Calls a job does not have to wait for in line: the RUNNING write, made while the inputs
download and the command starts, and the message's deletion after SUCCESS, made while the slot
already polls for its next message. Each saves one round trip to AWS per job.

One thread pool per process. `settle()` waits until every call handed over so far has finished;
the agent calls it before it exits, so that no deletion is lost by a clean exit. A worker killed
before a deletion went through leaves the message to come back, and the job, already SUCCESS, is
acknowledged without running again."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

THREADS = 8

_lock = threading.Lock()
_pool: list[ThreadPoolExecutor] = []
_pending: set[Future] = set()


def submit(function, *args, **kwargs) -> Future:
    """Run function(*args, **kwargs) in the pool; its Future."""
    with _lock:
        if not _pool:
            _pool.append(ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="background"))
        future = _pool[0].submit(function, *args, **kwargs)
        _pending.add(future)
    future.add_done_callback(_forget)
    return future


def _forget(future: Future) -> None:
    with _lock:
        _pending.discard(future)


def settle() -> None:
    """Return once every call handed over so far has finished."""
    with _lock:
        pending = list(_pending)
    wait(pending)
