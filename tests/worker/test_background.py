"""background: calls run beside the caller, a lane each; settle() waits for every call handed
over before it, and for the calls those hand over."""
import threading
import time

from ncap_iac.worker import background


def test_settle_returns_only_once_every_call_has_finished():
    finished = []

    def slow(n):
        time.sleep(0.05 * n)
        finished.append(n)

    for n in (3, 1, 2):
        background.submit("test", slow, n)
    background.settle()
    assert sorted(finished) == [1, 2, 3]


def test_an_error_in_a_call_is_kept_in_its_future_and_does_not_stop_settle():
    def broken():
        raise RuntimeError("boom")

    future = background.submit("test", broken)
    background.settle()
    assert isinstance(future.exception(), RuntimeError)


def test_a_call_handed_over_by_a_call_is_waited_for():
    finished = []

    def second():
        time.sleep(0.1)
        finished.append("second")

    background.submit("test", lambda: background.submit("other", second))
    background.settle()
    assert finished == ["second"]


def test_a_busy_lane_does_not_hold_up_another():
    release, done = threading.Event(), threading.Event()
    for _ in range(background.THREADS):
        background.submit("slow", release.wait, 5)
    background.submit("fast", done.set)
    assert done.wait(2), "the fast lane ran while every thread of the slow one was busy"
    release.set()
    background.settle()


def test_calls_run_beside_the_caller():
    started, release = threading.Event(), threading.Event()

    def waits():
        started.set()
        release.wait(5)

    background.submit("test", waits)
    assert started.wait(5), "the call started while the caller went on"
    release.set()
    background.settle()
