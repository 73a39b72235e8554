"""The worker's loop through database failures and hanging sends: no database, no sockets.

What it owes: a failing queue call never ends the loop; results it could not write stay
in memory and are written once the database works again, none lost, none sent twice;
each failure waits longer than the last, up to a cap; one log line per failure streak.
And its wait always has a deadline: a retry due while another send hangs is claimed on
time, and maintenance keeps its schedule.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hookline.dispatch.backoff import FaultStreak
from hookline.dispatch.runner import run_supervised
from hookline.dispatch.worker import Worker
from hookline.domain.deliveries import (
    AttemptResult,
    DeliveryState,
    DueDelivery,
    ErrorClass,
    Outgoing,
)
from hookline.domain.errors import StorageUnavailable
from tests.support.fake_queue import OK, T0, FakeQueue, FakeSender
from tests.unit.test_worker_loop import make_worker

FAILED = AttemptResult(500, 1.0, "oops", ErrorClass.HTTP_STATUS, None, None)
FULL = "OperationalError: database or disk is full"
SLOW = "https://receiver.example/wh_slow"


class FaultyQueue(FakeQueue):
    """A ``FakeQueue`` whose calls fail while their countdown in ``failures`` lasts."""

    def __init__(self, **failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.failed_at: list[float] = []
        self.reclaims = 0

    def _maybe_fail(self, call: str, error: Exception | None = None) -> None:
        if self.failures.get(call, 0) > 0:
            self.failures[call] -= 1
            self.failed_at.append(time.monotonic())
            raise error or StorageUnavailable(FULL)

    def settle_and_claim(self, settlements: Sequence[Any], **kwargs: Any) -> Any:
        if settlements:
            self._maybe_fail("settle")
        else:
            self._maybe_fail("claim")
        return super().settle_and_claim(settlements, **kwargs)

    def next_due_at(self) -> datetime | None:
        self._maybe_fail("next_due")
        return super().next_due_at()

    def reclaim_expired(
        self, now: datetime, *, dead_after: timedelta | None = None, alive: str | None = None
    ) -> int:
        self.reclaims += 1
        self._maybe_fail("reclaim", RuntimeError("an error nobody expected"))
        return super().reclaim_expired(now, dead_after=dead_after, alive=alive)

    def release(self, ids: Sequence[str], *, owner: str, now: datetime) -> int:
        self._maybe_fail("release")
        return super().release(ids, owner=owner, now=now)


def record_delays(worker: Worker) -> list[float]:
    delays: list[float] = []
    failed = worker._faults.failed

    def recording(*args: Any, **kwargs: Any) -> float:
        delays.append(failed(*args, **kwargs))
        return delays[-1]

    worker._faults.failed = recording  # type: ignore[method-assign]
    return delays


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Yield to the loop until ``condition`` holds, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_results_survive_an_outage_and_are_written_once_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue, sender = FaultyQueue(settle=6), FakeSender()
    for i in range(3):
        queue.add(f"dlv_{i}")
    worker = make_worker(queue, sender, backoff_base=0.002, backoff_cap=1.0)
    delays = record_delays(worker)
    with caplog.at_level(logging.DEBUG, logger="hookline.dispatch.worker"):
        await asyncio.wait_for(worker.run_until_idle(), 10)
    assert {queue.state_of(f"dlv_{i}") for i in range(3)} == {DeliveryState.DELIVERED}
    assert len(sender.sent) == 3  # kept in memory, not sent again
    assert sorted(s.delivery_id for s in queue.settled) == ["dlv_0", "dlv_1", "dlv_2"]
    assert len(delays) == 6 and delays == sorted(delays) and delays[-1] > delays[0] * 4
    gaps = [b - a for a, b in zip(queue.failed_at, queue.failed_at[1:], strict=False)]
    assert all(gap >= 0.9 * d for gap, d in zip(gaps, delays, strict=False))  # no busy loop
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and FULL in errors[0].getMessage()  # once per streak
    assert "3 unwritten results" in errors[0].getMessage()
    assert any("works again after 6 failed calls" in r.getMessage() for r in caplog.records)


async def test_back_off_is_capped() -> None:
    queue, sender = FaultyQueue(claim=12), FakeSender()
    queue.add("dlv_1")
    worker = make_worker(queue, sender, backoff_base=0.001, backoff_cap=0.004)
    delays = record_delays(worker)
    await asyncio.wait_for(worker.run_until_idle(), 10)
    assert queue.state_of("dlv_1") is DeliveryState.DELIVERED
    assert len(delays) == 12 and max(delays) <= 0.004 and delays[-1] >= 0.002


async def test_failing_maintenance_and_due_reads_do_not_stop_the_loop() -> None:
    queue, sender = FaultyQueue(reclaim=1000, next_due=3), FakeSender()
    worker = make_worker(
        queue, sender, backoff_base=0.001, backoff_cap=0.01, maintenance_interval=0.0
    )
    running = asyncio.create_task(worker.run())
    await until(lambda: queue.reclaims >= 3 and queue.failures["next_due"] == 0)
    queue.add("dlv_1")
    worker.wake()
    await asyncio.wait_for(sender.until_sent(1), 5)
    worker.stop()
    await asyncio.wait_for(running, 5)
    assert queue.state_of("dlv_1") is DeliveryState.DELIVERED


async def test_release_at_stop_is_retried_after_a_failure() -> None:
    queue = FaultyQueue(release=2)
    queue.add("dlv_slow", "wh_slow")
    sender = FakeSender(held=frozenset({SLOW}))
    worker = make_worker(queue, sender, shutdown_timeout=0.3, backoff_base=0.001)
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(sender.until_sent(1), 5)
    worker.stop()
    await asyncio.wait_for(running, 5)
    assert queue.released == ["dlv_slow"]
    assert queue.state_of("dlv_slow") is DeliveryState.PENDING


class LateOnceQueue(FaultyQueue):
    """Its first claim of each delivery comes with a ``send_by`` already past (a rate
    limit's lease the worker reached too late); later claims carry none."""

    def __init__(self, **failures: int) -> None:
        super().__init__(**failures)
        self.late: set[str] = set()

    def settle_and_claim(self, settlements: Sequence[Any], **kwargs: Any) -> Any:
        claimed: list[DueDelivery] = super().settle_and_claim(settlements, **kwargs)
        out = [
            d if d.id in self.late else dataclasses.replace(d, send_by=T0 - timedelta(seconds=1))
            for d in claimed
        ]
        self.late.update(d.id for d in claimed)
        return out


async def test_a_late_lease_a_failed_call_could_not_give_back_goes_back_next_round(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not left leased until it expires (and then counted as an attempt never made)."""
    queue = LateOnceQueue(release=2)
    queue.add("dlv_1")
    sender = FakeSender()
    worker = make_worker(queue, sender, backoff_base=0.001)
    with caplog.at_level(logging.ERROR, logger="hookline.dispatch.worker"):
        await asyncio.wait_for(worker.run_until_idle(), 10)
    assert queue.failures["release"] == 0  # both failures happened
    assert queue.released == ["dlv_1"]  # then it went back, once
    assert queue.state_of("dlv_1") is DeliveryState.DELIVERED
    assert [r.url for r in sender.sent] == ["https://receiver.example/wh_1"]  # sent once
    assert [s.delivery_id for s in queue.settled] == ["dlv_1"]  # one attempt, the real one
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "giving back leases" in errors[0]


async def test_a_retry_is_claimed_on_time_while_another_send_hangs() -> None:
    """The first retry is due 1 s after the failure; the hung send never ends."""
    answers = iter([FAILED, OK])
    queue = FakeQueue()
    now = datetime.now(UTC)
    queue.add("dlv_slow", "wh_slow", due_at=now)
    queue.add("dlv_retry", "wh_fast", due_at=now)

    def answer(request: Outgoing) -> AttemptResult:
        return next(answers)

    sender = FakeSender(answer=answer, held=frozenset({SLOW}))
    worker = make_worker(
        queue,
        sender,
        clock=lambda: datetime.now(UTC),  # type: ignore[arg-type]
        poll_interval=3600.0,
        maintenance_interval=3600.0,
        shutdown_timeout=0.0,
    )
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(sender.until_sent(3), 5)  # slow, retry, and retry again
        await until(lambda: queue.state_of("dlv_retry") is DeliveryState.DELIVERED)
    finally:
        worker.stop()
        await running
    assert [s.attempt.number for s in queue.settled] == [1, 2]
    assert queue.released == ["dlv_slow"]  # it hung all along


async def test_maintenance_keeps_its_schedule_while_a_send_hangs() -> None:
    queue = FaultyQueue()
    queue.add("dlv_slow", "wh_slow")
    sender = FakeSender(held=frozenset({SLOW}))
    worker = make_worker(
        queue, sender, poll_interval=3600.0, maintenance_interval=0.02, shutdown_timeout=0.0
    )
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(sender.until_sent(1), 5)
        seen = queue.reclaims
        await until(lambda: queue.reclaims >= seen + 3)
    finally:
        worker.stop()
        await running


async def test_a_crashed_worker_is_logged_at_once_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue, sender = FakeQueue(), FakeSender()
    queue.add("dlv_1", due_at=datetime.now(UTC) - timedelta(seconds=1))
    worker = make_worker(queue, sender, clock=lambda: datetime.now(UTC))  # type: ignore[arg-type]
    pump = worker._pump
    crashes = iter([RuntimeError("a bug in the loop")])

    async def crashing_once() -> float:
        crash = next(crashes, None)
        if crash is not None:
            raise crash
        return await pump()

    worker._pump = crashing_once  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="hookline.dispatch.runner"):
        running = asyncio.create_task(run_supervised(worker, restart_after=0.0))
        await until(lambda: any("crashed" in r.getMessage() for r in caplog.records))
        await asyncio.wait_for(sender.until_sent(1), 5)
    worker.stop()
    await asyncio.wait_for(running, 5)
    assert queue.state_of("dlv_1") is DeliveryState.DELIVERED


def test_a_call_that_works_during_an_outage_does_not_end_its_streak(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On a full SQLite disk a read still works while every settle fails: the outage is
    logged once, and its back-off keeps growing, until a settle works again."""
    streak = FaultStreak("w", base=0.1, cap=10.0, rng=random.Random(1))
    full = StorageUnavailable("database or disk is full")
    streak.failed("settle and claim", full, unwritten=20)
    first = streak.delay
    streak.succeeded("reading the next due time")
    streak.failed("settle and claim", full, unwritten=20)
    assert streak.failing and streak.failures == 2 and streak.delay > first
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    streak.succeeded("settle and claim")
    assert not streak.failing and streak.delay == 0.0
