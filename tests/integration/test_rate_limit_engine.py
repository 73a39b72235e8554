"""Rate-limited webhooks in the claim and the engine, both backends (issue 16 §2).

The claim leases at most N deliveries of a limited webhook in any window
(``store.ratelimit.WINDOW``, 1.2 s), whichever worker asks; the rest stay pending,
unattempted, due when the window has room; webhooks without a limit are not held; a
FIFO webhook with a limit keeps its order.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from hookline.catalog import TOPICS
from hookline.domain.deliveries import DueDelivery
from hookline.services import platforms, webhooks
from hookline.services.context import Context
from hookline.services.ingest import IncomingEvent, ingest
from hookline.store import ratelimit
from hookline.store.ratelimit import WINDOW
from hookline.store.tables import attempts, deliveries
from tests.conftest import FakeClock
from tests.support.engine import TOPIC, make_worker
from tests.support.receiver import Received, Receiver

SAMPLE: dict[str, Any] = dict(TOPICS[TOPIC].sample)
# A claim logs its leases at the queue's clock, read last (store.ratelimit.admit): with
# the tests' clock, which moves only by hand, exactly at the claim's ``now``, however
# long the claim took in real time. Steps of a window and a second leave every earlier
# lease out of the window and make each step a new second at the receiver.
STEP = WINDOW + timedelta(seconds=1)


def platform_with(ctx: Context, url: str, **controls: Any) -> tuple[str, str, str]:
    """A platform with one limited webhook (``controls``) and one plain: (platform, both)."""
    pid = platforms.create_platform(ctx, "Coffee", timezone="Asia/Taipei").platform.id
    platforms.set_zone(ctx, pid, 1, ctx.clock() + timedelta(days=365))
    limited = webhooks.create_webhook(
        ctx, pid, name="limited", url=f"{url}/limited", topics=[TOPIC], given=controls
    )
    plain = webhooks.create_webhook(ctx, pid, name="plain", url=f"{url}/plain", topics=[TOPIC])
    return pid, limited.id, plain.id


def publish(ctx: Context, pid: str, numbers: range) -> None:
    items = [
        IncomingEvent(platform_id=pid, topic=TOPIC, data={**SAMPLE, "number": f"AB{n:08d}"})
        for n in numbers
    ]
    assert all(not isinstance(r, Exception) for r in ingest(ctx, items))


def claim(ctx: Context, owner: str, now: datetime) -> Counter[str]:
    """One claim round of 100 by ``owner`` at ``now``: leases per webhook."""
    leased = ctx.queue.settle_and_claim(
        [],
        owner=owner,
        now=now,
        lease_until=now + timedelta(minutes=5),
        limit=100,
        per_webhook_cap=100,
    )
    return Counter(d.webhook_id for d in leased)


def pending_of(ctx: Context, webhook_id: str) -> list[tuple[int, datetime | None]]:
    with ctx.db.read() as conn:
        q = select(deliveries.c.attempts, deliveries.c.next_attempt_at).where(
            deliveries.c.webhook_id == webhook_id, deliveries.c.state == "pending"
        )
        return [(int(a), n) for a, n in conn.execute(q)]


def attempt_count(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(attempts)).scalar_one())


def number_of(r: Received) -> int:
    return int(json.loads(r.body)["data"]["number"][2:])


def leases_of(ctx: Context, owner: str, clock: FakeClock, webhook_id: str) -> list[DueDelivery]:
    """What one claim by ``owner`` leases of ``webhook_id`` now."""
    leased = ctx.queue.settle_and_claim(
        [],
        owner=owner,
        now=clock.now,
        lease_until=clock.now + timedelta(minutes=5),
        limit=10,
        per_webhook_cap=10,
    )
    return [d for d in leased if d.webhook_id == webhook_id]


def test_a_claim_leases_at_most_n_a_window_whoever_claims(
    ctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    clock.advance(seconds=0.25)
    pid, limited, plain = platform_with(ctx, receiver.url(""), rate_limit_per_second=5)
    publish(ctx, pid, range(50))
    now = clock.now
    assert claim(ctx, "w1", now) == {limited: 5, plain: 50}
    assert claim(ctx, "w2", now + WINDOW / 2) == {}  # same window, other worker
    waiting = pending_of(ctx, limited)
    assert len(waiting) == 45
    assert {a for a, _ in waiting} == {0}  # nothing spent on the limit
    assert now + WINDOW <= min(n for _, n in waiting if n is not None) < now + STEP
    assert attempt_count(ctx) == 0
    for k in range(1, 10):
        at = now + k * STEP
        assert claim(ctx, "w2" if k % 2 else "w1", at) == {limited: 5}
        assert claim(ctx, "w1", at + WINDOW / 2) == {}
    assert pending_of(ctx, limited) == []


def test_the_window_slides_rather_than_restarting_each_second(
    ctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    clock.advance(seconds=0.9)  # late in a calendar second
    pid, limited, _plain = platform_with(ctx, receiver.url(""), rate_limit_per_second=4)
    publish(ctx, pid, range(2))
    now = clock.now
    assert claim(ctx, "w1", now)[limited] == 2
    publish(ctx, pid, range(2, 10))
    # the next calendar second has begun, but 2 of the last 1.2 s's 4 are taken
    assert claim(ctx, "w2", now + timedelta(seconds=0.6))[limited] == 2
    # a millisecond before the window has passed the first two, all four still count
    assert claim(ctx, "w1", now + WINDOW - timedelta(milliseconds=1))[limited] == 0
    # then the first two left the window, not the next two
    assert claim(ctx, "w1", now + WINDOW)[limited] == 2


def test_a_claim_stamps_its_leases_by_the_queue_clock_not_real_time(
    ctx: Context, clock: FakeClock, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Time the queue's clock saw pass during a claim moves its stamp (its requests leave
    that much later); real time it did not see does not. A CI run's claim once stalled
    for ten seconds against the tests' clock and pushed every later window out of reach."""
    pid, limited, _plain = platform_with(ctx, receiver.url(""), rate_limit_per_second=2)
    publish(ctx, pid, range(8))
    unlocked = ratelimit._window

    def stalled(conn: Connection, webhook_id: str, at: int) -> list[tuple[int, int]]:
        time.sleep(0.2)  # the fault: a claim that stalls, unseen by the hand-moved clock
        return unlocked(conn, webhook_id, at)

    monkeypatch.setattr(ratelimit, "_window", stalled)
    now = clock.now
    (first, _) = leases_of(ctx, "w1", clock, limited)
    assert first.send_by == now + ratelimit.SEND_SLACK
    assert claim(ctx, "w2", now + WINDOW - timedelta(milliseconds=1))[limited] == 0
    assert claim(ctx, "w2", now + WINDOW)[limited] == 2

    def slow(conn: Connection, webhook_id: str, at: int) -> list[tuple[int, int]]:
        clock.advance(seconds=0.5)  # this claim takes half a second on the queue's clock
        return unlocked(conn, webhook_id, at)

    monkeypatch.setattr(ratelimit, "_window", slow)
    clock.advance(seconds=10)
    asked = clock.now
    (late, _) = leases_of(ctx, "w1", clock, limited)
    assert late.send_by == asked + timedelta(seconds=0.5) + ratelimit.SEND_SLACK
    monkeypatch.setattr(ratelimit, "_window", unlocked)
    assert claim(ctx, "w2", asked + WINDOW)[limited] == 0  # its window began half a second on
    assert claim(ctx, "w2", asked + timedelta(seconds=0.5) + WINDOW)[limited] == 2


def test_no_limit_and_a_lifted_limit_hold_nothing(ctx: Context, receiver: Receiver) -> None:
    pid, limited, plain = platform_with(ctx, receiver.url(""), rate_limit_per_second=1)
    publish(ctx, pid, range(3))
    assert claim(ctx, "w1", ctx.clock()) == {limited: 1, plain: 3}
    webhooks.update_webhook(ctx, pid, limited, given={"rate_limit_per_second": None})
    assert webhooks.get_webhook(ctx, pid, limited).rate_limit_per_second is None
    publish(ctx, pid, range(3, 20))
    # the two held back were spread over the next two windows; they keep those times
    later = ctx.clock() + 2 * STEP
    assert claim(ctx, "w1", later) == {limited: 19, plain: 17}


@pytest.fixture
def unhurried(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lease's connection may come any time: these tests check whose turn it is, and
    a loaded machine's stall before a connection (``send_by``, tested on its own below)
    would give a lease back and move the schedule they compare."""
    monkeypatch.setattr(ratelimit, "SEND_SLACK", timedelta(hours=1))


@pytest.mark.usefixtures("unhurried")
async def test_the_worker_waits_its_turn_and_spends_no_attempt(
    ctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    pid, _limited, _plain = platform_with(ctx, receiver.url(""), rate_limit_per_second=3)
    publish(ctx, pid, range(10))
    worker = make_worker(ctx, concurrency=20)
    per_second: list[int] = []
    try:
        for _ in range(6):
            before = len([r for r in receiver.received() if r.path == "/limited"])
            await worker.run_until_idle()
            per_second.append(
                len([r for r in receiver.received() if r.path == "/limited"]) - before
            )
            clock.advance(seconds=STEP.total_seconds())
    finally:
        await worker.sender.close()
    assert per_second == [3, 3, 3, 1, 0, 0]
    assert len([r for r in receiver.received() if r.path == "/plain"]) == 10
    assert attempt_count(ctx) == 20  # one each: waiting for the limit is not an attempt


@pytest.mark.usefixtures("unhurried")
async def test_fifo_with_a_limit_keeps_its_order(
    ctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    pid, _limited, _plain = platform_with(
        ctx, receiver.url(""), rate_limit_per_second=2, ordering="fifo"
    )
    publish(ctx, pid, range(7))
    worker = make_worker(ctx, concurrency=20)
    seen: list[list[int]] = []
    try:
        for _ in range(5):
            await worker.run_until_idle()
            got = [number_of(r) for r in receiver.received() if r.path == "/limited"]
            seen.append(got)
            clock.advance(seconds=STEP.total_seconds())
    finally:
        await worker.sender.close()
    assert seen == [[0, 1], [0, 1, 2, 3], [0, 1, 2, 3, 4, 5], list(range(7)), list(range(7))]


async def test_a_lease_not_sent_in_time_is_given_back_unsent(
    ctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    """A worker that reaches a rate-limited send after its window (a stalled process)
    gives the lease back rather than crowd the next window; no attempt is made."""
    pid, limited, _plain = platform_with(ctx, receiver.url(""), rate_limit_per_second=2)
    publish(ctx, pid, range(1))
    worker = make_worker(ctx)
    leased = leases_of(ctx, worker.name, clock, limited)
    assert len(leased) == 1 and leased[0].send_by is not None
    assert clock.now < leased[0].send_by <= clock.now + timedelta(seconds=1)
    clock.advance(seconds=1)  # the process stalled past its window
    try:
        await worker._deliver(leased[0])
    finally:
        await worker.sender.close()
    assert [r for r in receiver.received() if r.path == "/limited"] == []
    assert pending_of(ctx, limited) == [(0, clock.now - timedelta(seconds=1))]
    assert attempt_count(ctx) == 0


async def test_a_lease_whose_connection_comes_after_its_send_by_is_given_back_unsent(
    ctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    """The worker's own check passes (it starts exactly at ``send_by``), but the
    connection is in hand only after it: the sender writes nothing (dispatch.send_by)
    and the lease goes back, unattempted, as when the worker itself was late."""
    pid, limited, _plain = platform_with(ctx, receiver.url(""), rate_limit_per_second=2)
    publish(ctx, pid, range(1))
    worker = make_worker(ctx)
    (due,) = leases_of(ctx, worker.name, clock, limited)
    try:
        await worker._deliver(replace(due, send_by=clock.now))  # no time left at all
    finally:
        await worker.sender.close()
    assert [r for r in receiver.received() if r.path == "/limited"] == []
    assert pending_of(ctx, limited) == [(0, clock.now)]
    assert attempt_count(ctx) == 0
