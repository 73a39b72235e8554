"""The worker's loop against an in-memory queue and sender: no database, no sockets.

What the loop owes: claim no more than its free sending slots, sign and send each
claimed delivery, hand every result back, and on stop release what it did not send.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from hookline.dispatch.settings import WorkerSettings
from hookline.dispatch.worker import Worker
from hookline.domain import wire
from hookline.domain.deliveries import AttemptResult, AttemptTrigger, DeliveryState, ErrorClass
from tests.support.fake_queue import T0, FakeQueue, FakeSender, open_secret

FAILED = AttemptResult(500, 1.0, "oops", ErrorClass.HTTP_STATUS, None, None)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def make_worker(
    queue: FakeQueue, sender: FakeSender, clock: Clock | None = None, **settings: Any
) -> Worker:
    return Worker(
        queue=queue,
        sender=sender,
        decrypt=open_secret,
        settings=WorkerSettings(linger=0.0, **settings),
        clock=clock or Clock(),
        name="w-test",
        rng=random.Random(7),
    )


async def test_burst_sends_every_due_delivery_signed_and_writes_the_results_back() -> None:
    queue, sender = FakeQueue(), FakeSender()
    for i in range(3):
        queue.add(f"dlv_{i}")
    await make_worker(queue, sender).run_until_idle()
    assert sorted(r.headers["CrescLab-Idempotency-Key"] for r in sender.sent) == [
        "key-dlv_0",
        "key-dlv_1",
        "key-dlv_2",
    ]
    request = sender.sent[0]
    assert request.headers["CrescLab-Signature"] == wire.maac_signature(
        "whsec_dGVzdA==", request.body
    )
    assert {queue.state_of(f"dlv_{i}") for i in range(3)} == {DeliveryState.DELIVERED}
    assert [(s.attempt.number, s.attempt.trigger) for s in queue.settled] == [
        (1, AttemptTrigger.WORKER)
    ] * 3


async def test_never_claims_more_than_its_free_sending_slots() -> None:
    queue, sender = FakeQueue(), FakeSender()
    limits: list[int] = []
    claim = queue.settle_and_claim

    def recording(settlements: Any, **kwargs: Any) -> Any:
        limits.append(kwargs["limit"])
        return claim(settlements, **kwargs)

    queue.settle_and_claim = recording  # type: ignore[method-assign]
    for i in range(5):
        queue.add(f"dlv_{i}")
    await make_worker(queue, sender, concurrency=2).run_until_idle()
    assert len(sender.sent) == 5
    assert max(limits) == 2
    assert {queue.state_of(f"dlv_{i}") for i in range(5)} == {DeliveryState.DELIVERED}


async def test_a_failed_attempt_is_scheduled_again_and_retried_when_due() -> None:
    queue, clock = FakeQueue(), Clock()
    sender = FakeSender(answer=lambda _request: FAILED)
    queue.add("dlv_1")
    worker = make_worker(queue, sender, clock)
    await worker.run_until_idle()
    assert queue.state_of("dlv_1") is DeliveryState.PENDING
    due_at = queue.rows["dlv_1"].due_at
    assert due_at is not None and due_at > T0
    await worker.run_until_idle()  # not due yet: nothing is sent
    assert len(sender.sent) == 1
    clock.now = due_at
    await worker.run_until_idle()
    assert len(sender.sent) == 2
    assert [s.attempt.number for s in queue.settled] == [1, 2]


async def test_stop_writes_finished_results_and_releases_unsent_rows() -> None:
    queue = FakeQueue()
    queue.add("dlv_fast", "wh_fast")
    queue.add("dlv_slow", "wh_slow")
    sender = FakeSender(held=frozenset({"https://receiver.example/wh_slow"}))
    worker = make_worker(queue, sender, shutdown_timeout=0.0, poll_interval=3600.0)
    running = asyncio.create_task(worker.run())
    await sender.until_sent(2)
    worker.stop()
    await running
    assert queue.state_of("dlv_fast") is DeliveryState.DELIVERED
    assert queue.state_of("dlv_slow") is DeliveryState.PENDING
    assert queue.released == ["dlv_slow"]
    assert [s.delivery_id for s in queue.settled] == ["dlv_fast"]
    assert not sender.closed  # the sender belongs to whoever made it


async def test_a_delivery_that_cannot_be_attempted_keeps_its_lease_for_reclaim() -> None:
    queue, sender = FakeQueue(), FakeSender()
    queue.add("dlv_1")

    def broken_box(_ciphertext: str) -> str:
        raise ValueError("this secret box cannot open that")

    worker = Worker(queue=queue, sender=sender, decrypt=broken_box, clock=Clock(), name="w")
    await worker.run_until_idle()
    assert sender.sent == []
    assert queue.state_of("dlv_1") is DeliveryState.IN_FLIGHT  # reclaimed once its lease ends
    assert queue.settled == []


async def test_the_settlement_follows_the_retry_policy_of_the_claimed_row() -> None:
    queue, clock = FakeQueue(), Clock()
    sender = FakeSender(answer=lambda _request: FAILED)
    queue.add("dlv_1")
    worker = make_worker(queue, sender, clock)
    for _ in range(4):  # MAAC: the first try and three retries
        await worker.run_until_idle()
        due_at = queue.rows["dlv_1"].due_at
        clock.now = due_at or clock.now + timedelta(days=1)
    assert queue.state_of("dlv_1") is DeliveryState.FAILED
    assert len(sender.sent) == 4


def recorded(calls: list[str], name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return method(*args, **kwargs)

    return call


async def test_beats_before_claiming_and_signs_off_after_releasing() -> None:
    queue = FakeQueue()
    queue.add("dlv_slow", "wh_slow")
    sender = FakeSender(held=frozenset({"https://receiver.example/wh_slow"}))
    calls: list[str] = []
    for method in ("heartbeat", "settle_and_claim", "release"):
        setattr(queue, method, recorded(calls, method, getattr(queue, method)))
    worker = make_worker(queue, sender, shutdown_timeout=0.0, poll_interval=3600.0)
    running = asyncio.create_task(worker.run())
    await sender.until_sent(1)
    assert queue.heartbeats == {"w-test": T0}
    worker.stop()
    await running
    assert calls[:2] == ["heartbeat", "settle_and_claim"]  # alive before it holds a lease
    assert calls[-1] == "release" and queue.signed_off == ["w-test"]
    assert queue.heartbeats == {}  # nobody waits for a stopped worker's leases


async def test_heartbeats_go_on_while_every_send_hangs() -> None:
    """The loop waits on sends that never end; its heartbeat must not wait with it."""
    queue = FakeQueue()
    queue.add("dlv_slow", "wh_slow")
    sender = FakeSender(held=frozenset({"https://receiver.example/wh_slow"}))
    clock = Clock()
    beats: list[datetime] = []
    three = asyncio.Event()
    loop = asyncio.get_running_loop()

    def beat(name: str, now: datetime) -> None:  # runs on a thread
        beats.append(now)
        clock.now = now + timedelta(seconds=1)
        if len(beats) >= 3:
            loop.call_soon_threadsafe(three.set)

    queue.heartbeat = beat  # type: ignore[method-assign]
    worker = make_worker(
        queue, sender, clock, shutdown_timeout=0.0, poll_interval=3600.0, heartbeat_interval=0.01
    )
    running = asyncio.create_task(worker.run())
    await sender.until_sent(1)
    await three.wait()
    worker.stop()
    await running
    assert beats[:3] == [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]


async def test_maintenance_reclaims_the_leases_of_workers_silent_for_dead_after() -> None:
    queue, sender = FakeQueue(), FakeSender()
    seen: list[tuple[timedelta | None, str | None]] = []

    def reclaim(
        now: datetime, *, dead_after: timedelta | None = None, alive: str | None = None
    ) -> int:
        seen.append((dead_after, alive))
        worker.stop()
        return 0

    queue.reclaim_expired = reclaim  # type: ignore[method-assign]
    worker = make_worker(queue, sender, dead_after=2.5)
    await worker.run()
    # its own rows are never reclaimed for a missed beat: it is alive, it is reclaiming
    assert seen == [(timedelta(seconds=2.5), worker.name)]


class PeekCountingQueue(FakeQueue):
    """Counts the next-due reads made inside a round and those made on their own."""

    def __init__(self) -> None:
        super().__init__()
        self.in_round = False
        self.reads = {"in a round": 0, "alone": 0}

    def round(self, settlements: Any, **kwargs: Any) -> Any:
        self.in_round = True
        try:
            return super().round(settlements, **kwargs)
        finally:
            self.in_round = False

    def next_due_at(self) -> datetime | None:
        self.reads["in a round" if self.in_round else "alone"] += 1
        return super().next_due_at()


async def test_an_idle_worker_learns_the_next_due_time_from_its_round() -> None:
    """A round that leases nothing reads the next due time in its own transaction, and
    the worker waits for exactly that: no read of its own (a connection check, a BEGIN
    and a COMMIT more on every event at low load), no waiting for the poll."""
    queue, sender = PeekCountingQueue(), FakeSender()
    started = time.monotonic()

    def clock() -> datetime:
        return T0 + timedelta(seconds=time.monotonic() - started)

    queue.add("dlv_later", due_at=T0 + timedelta(seconds=0.3))
    worker = Worker(
        queue=queue,
        sender=sender,
        decrypt=open_secret,
        settings=WorkerSettings(linger=0.0, poll_interval=3600.0, maintenance_interval=3600.0),
        clock=clock,
        name="w-test",
    )
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(sender.until_sent(1), 5)  # claimed when due, not at the poll
    assert clock() >= T0 + timedelta(seconds=0.3)
    worker.stop()
    await running
    assert queue.reads["alone"] == 0
    assert queue.reads["in a round"] >= 2  # before the delivery was due, and after it


async def test_each_round_tells_the_queue_what_the_worker_has_in_flight() -> None:
    """Its claim counts these against each webhook's cap, with its live peers' loads
    (``InFlight``): the database need not count the deliveries in flight."""
    queue = FakeQueue()
    for i in range(2):
        queue.add(f"dlv_slow_{i}", "wh_slow")
    queue.add("dlv_fast", "wh_fast")
    sender = FakeSender(held=frozenset({"https://receiver.example/wh_slow"}))
    clock = Clock()
    worker = make_worker(
        queue, sender, clock, poll_interval=3600.0, dead_after=3.0, shutdown_timeout=0.0
    )
    running = asyncio.create_task(worker.run())
    await sender.until_sent(3)

    async def fast_one_written() -> None:  # by the round its finished send starts
        while not queue.settled:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(fast_one_written(), 5)
    worker.stop()
    await running
    first, last = queue.in_flight_told[0], queue.in_flight_told[-1]
    assert first is not None and dict(first.mine) == {}  # nothing in flight yet
    assert last is not None and dict(last.mine) == {"wh_slow": 2}  # the fast one is done
    assert clock() - last.peers_alive_since <= timedelta(seconds=3)
