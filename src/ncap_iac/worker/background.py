"""Calls a job does not wait for: after SUCCESS is stored, the message's deletion (the slot polls
for its next message meanwhile, which saves a round trip per job) and then the lab's notice.

Deletions and notices run in separate thread pools (lanes), so that a slow notification service
never holds up a deletion. `settle()` waits until every call handed over so far has finished; the
agent calls it before it exits, so that a clean exit loses no deletion. A worker killed before a
deletion went through leaves the message to come back, and the job, already SUCCESS, is then
acknowledged without running again."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

THREADS = 8  # per lane

_lock = threading.Lock()
_lanes: dict[str, ThreadPoolExecutor] = {}
_pending: set[Future] = set()


def submit(lane: str, function, *args, **kwargs) -> Future:
    """Run function(*args, **kwargs) in the pool of `lane`; its Future."""
    with _lock:
        if lane not in _lanes:
            _lanes[lane] = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix=f"background-{lane}")
        future = _lanes[lane].submit(function, *args, **kwargs)
        _pending.add(future)
    future.add_done_callback(_forget)
    return future


def _forget(future: Future) -> None:
    with _lock:
        _pending.discard(future)


def settle() -> None:
    """Return once every call handed over so far has finished, and every call those handed over
    before they finished."""
    while True:
        with _lock:
            pending = [future for future in _pending if not future.done()]
        if not pending:
            return
        wait(pending)
