"""background: calls run beside the caller; settle() waits for every call handed over before it."""
import threading
import time

from ncap_iac.worker import background


def test_settle_returns_only_once_every_call_has_finished():
    finished = []

    def slow(n):
        time.sleep(0.05 * n)
        finished.append(n)

    for n in (3, 1, 2):
        background.submit(slow, n)
    background.settle()
    assert sorted(finished) == [1, 2, 3]


def test_an_error_in_a_call_is_kept_in_its_future_and_does_not_stop_settle():
    def broken():
        raise RuntimeError("boom")

    future = background.submit(broken)
    background.settle()
    assert isinstance(future.exception(), RuntimeError)


def test_calls_run_beside_the_caller():
    started, release = threading.Event(), threading.Event()

    def waits():
        started.set()
        release.wait(5)

    background.submit(waits)
    assert started.wait(5), "the call started while the caller went on"
    release.set()
    background.settle()
