"""/readyz's "writes failing" signal: on at a failure, off by itself, no flapping."""

from __future__ import annotations

from hookline.store.db import WriteHealth


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_sets_it_and_a_later_success_clears_it_after_the_quiet_period() -> None:
    clock = Clock()
    health = WriteHealth(window=30, quiet=5, clock=clock)
    assert not health.failing
    health.failed("OperationalError: database or disk is full")
    assert health.failing
    clock.now += 1
    health.succeeded()  # a small write fitting between refused big ones
    assert health.failing
    clock.now += 5
    health.succeeded()
    assert not health.failing


def test_failures_between_successes_keep_it_on() -> None:
    clock = Clock()
    health = WriteHealth(window=30, quiet=5, clock=clock)
    for _ in range(10):
        health.failed("full")
        clock.now += 3
        health.succeeded()
        assert health.failing


def test_it_clears_after_the_window_without_any_write() -> None:
    clock = Clock()
    health = WriteHealth(window=30, quiet=5, clock=clock)
    health.failed("read-only")
    clock.now += 29.9
    assert health.failing
    clock.now += 0.1
    assert not health.failing
