"""Leases on both backends: one owner per delivery, dead workers found by heartbeat.

A stopped webhook sends nothing, whatever path put its rows back to pending; a resend
holds a lease like a worker; a worker that stops beating loses its leases in seconds,
and each lease taken back leaves an ``outcome_unknown`` attempt.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from hookline.domain.deliveries import AttemptResult, DueDelivery, Outgoing, Round
from hookline.domain.errors import DeliveryInFlight
from hookline.domain.settlement import settlement_of
from hookline.services import deliveries as delivery_service
from hookline.services import webhooks
from hookline.services.context import Context
from hookline.store import claims
from hookline.store.tables import attempts, deliveries
from tests.conftest import FakeClock
from tests.support.engine import make_setup

OK = AttemptResult(200, 1.0, "", None, None, None)
FAILED = AttemptResult(500, 1.0, "", None, None, None)
LEASE = timedelta(seconds=60)
DEAD_AFTER = timedelta(seconds=3)


def claim(ctx: Context, owner: str, limit: int = 10) -> list[DueDelivery]:
    now = ctx.clock()
    return ctx.queue.settle_and_claim(
        [], owner=owner, now=now, lease_until=now + LEASE, limit=limit, per_webhook_cap=10
    )


def set_row(ctx: Context, delivery_id: str, **values: object) -> None:
    with ctx.db.write() as conn:
        conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


# -- a stopped webhook sends nothing --------------------------------------------------


def test_a_pending_row_of_a_stopped_webhook_is_never_claimed(ctx: Context) -> None:
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    webhooks.stop_webhook(ctx, setup.platform_id, setup.webhook_ids[0])
    (row,) = setup.deliveries()
    set_row(ctx, row.id, state="pending", next_attempt_at=ctx.clock(), completed_at=None)
    assert claim(ctx, "w") == []


def test_rows_released_after_a_stop_are_cancelled(ctx: Context) -> None:
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    (due,) = claim(ctx, "w")
    webhooks.stop_webhook(ctx, setup.platform_id, setup.webhook_ids[0])
    assert ctx.queue.release([due.id], owner="w", now=ctx.clock()) == 1
    assert [r.state for r in setup.deliveries()] == ["cancelled"]
    assert claim(ctx, "other") == []


def test_rows_reclaimed_after_a_delete_are_cancelled(ctx: Context, clock: FakeClock) -> None:
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    claim(ctx, "w")
    webhooks.delete_webhook(ctx, setup.platform_id, setup.webhook_ids[0])
    clock.advance(seconds=61)
    assert ctx.queue.reclaim_expired(clock.now) == 1
    (row,) = setup.deliveries()
    assert row.state == "cancelled" and row.lease_owner is None


def test_recovering_a_stopped_webhooks_failures_sends_nothing(ctx: Context) -> None:
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    (row,) = setup.deliveries()
    set_row(ctx, row.id, state="failed", next_attempt_at=None, completed_at=ctx.clock())
    webhooks.stop_webhook(ctx, setup.platform_id, setup.webhook_ids[0])
    since = ctx.clock() - timedelta(days=1)
    assert delivery_service.recover(ctx, setup.platform_id, setup.webhook_ids[0], since, None) == 0
    assert [r.state for r in setup.deliveries()] == ["cancelled"]
    assert claim(ctx, "w") == []


# -- a resend holds a lease ----------------------------------------------------------


async def test_no_worker_claims_a_delivery_while_a_resend_sends_it(ctx: Context) -> None:
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()  # pending and due: a worker would take it
    (row,) = setup.deliveries()
    seen: list[list[DueDelivery]] = []

    async def send(_request: Outgoing) -> AttemptResult:
        seen.append(claim(ctx, "worker"))  # a worker's claim in the middle of the send
        return OK

    sent = await delivery_service.resend(ctx, send, setup.platform_id, row.id)
    assert sent.result.ok and seen == [[]]
    (after,) = setup.deliveries()
    assert after.state == "delivered" and after.lease_owner is None and after.attempts == 1
    assert [a.trigger for a in setup.attempts(row.id)] == ["resend"]


async def test_a_resend_whose_lease_was_taken_back_changes_nothing(
    ctx: Context, clock: FakeClock
) -> None:
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    (row,) = setup.deliveries()

    async def send(_request: Outgoing) -> AttemptResult:
        # the resend hangs past its lease: it is reclaimed and a worker takes the row
        clock.advance(seconds=ctx.resend_lease.total_seconds() + 1)
        assert ctx.queue.reclaim_expired(clock.now, dead_after=DEAD_AFTER) == 1
        assert [d.id for d in claim(ctx, "worker")] == [row.id]
        return OK

    await delivery_service.resend(ctx, send, setup.platform_id, row.id)
    (after,) = setup.deliveries()
    assert after.state == "in_flight" and after.lease_owner == "worker"
    attempts = setup.attempts(row.id)
    assert [(a.trigger, a.error) for a in attempts] == [
        ("resend", "outcome_unknown"),
        ("resend", None),  # the late result is kept, but settles nothing
    ]


async def test_a_resend_waits_for_a_worker_lease(ctx: Context) -> None:
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    (due,) = claim(ctx, "worker")

    async def send(_request: Outgoing) -> AttemptResult:
        raise AssertionError("a leased delivery must not be resent")

    try:
        await delivery_service.resend(ctx, send, setup.platform_id, due.id)
    except DeliveryInFlight:
        pass
    else:
        raise AssertionError("the resend did not answer delivery_in_flight")
    (row,) = setup.deliveries()
    assert row.lease_owner == "worker"


# -- heartbeats ---------------------------------------------------------------------


def test_a_silent_workers_leases_are_reclaimed_before_they_expire(
    ctx: Context, clock: FakeClock
) -> None:
    setup = make_setup(ctx, ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"])
    setup.publish()
    queue = ctx.queue
    queue.heartbeat("dead", clock.now)
    queue.heartbeat("alive", clock.now)
    mine = {d.webhook_id: d.id for d in claim(ctx, "dead", limit=1)}
    theirs = {d.webhook_id: d.id for d in claim(ctx, "alive", limit=1)}
    assert len(mine) == len(theirs) == 1
    clock.advance(seconds=2)
    queue.heartbeat("alive", clock.now)
    assert queue.reclaim_expired(clock.now, dead_after=DEAD_AFTER) == 0  # 2 s: not yet
    clock.advance(seconds=2)
    queue.heartbeat("alive", clock.now)
    assert queue.live_workers(clock.now, within=DEAD_AFTER) == 2 - 1
    assert queue.reclaim_expired(clock.now, dead_after=DEAD_AFTER) == 1  # 4 s, lease 60 s
    rows = {r.id: r for r in setup.deliveries()}
    (dead_row,) = mine.values()
    (alive_row,) = theirs.values()
    assert rows[dead_row].state == "pending" and rows[dead_row].next_attempt_at == clock.now
    assert rows[alive_row].state == "in_flight" and rows[alive_row].lease_owner == "alive"
    assert [d.id for d in claim(ctx, "alive")] == [dead_row]


def test_a_worker_never_reclaims_its_own_leases_for_a_missed_beat(
    ctx: Context, clock: FakeClock
) -> None:
    """Its beats failed for a while (a flaky connection), but it is the one reclaiming:
    alive by definition, so its rows wait for their lease, and its row is not deleted."""
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    ctx.queue.heartbeat("me", clock.now)
    claim(ctx, "me")
    clock.advance(seconds=10)
    assert ctx.queue.reclaim_expired(clock.now, dead_after=DEAD_AFTER, alive="me") == 0
    (row,) = setup.deliveries()
    assert row.state == "in_flight" and row.lease_owner == "me"
    assert ctx.queue.reclaim_expired(clock.now, dead_after=DEAD_AFTER) == 1  # another worker


def test_a_lease_without_a_heartbeat_lasts_until_it_expires(ctx: Context, clock: FakeClock) -> None:
    """A resend's owner never beats: only the expiry takes its lease back."""
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    claim(ctx, "resend:abc")
    clock.advance(seconds=30)
    assert ctx.queue.reclaim_expired(clock.now, dead_after=DEAD_AFTER) == 0
    clock.advance(seconds=31)
    assert ctx.queue.reclaim_expired(clock.now, dead_after=DEAD_AFTER) == 1


def test_a_signed_off_worker_is_not_counted(ctx: Context, clock: FakeClock) -> None:
    queue = ctx.queue
    queue.heartbeat("w1", clock.now)
    queue.heartbeat("w2", clock.now)
    queue.heartbeat("w1", clock.now)  # a second beat updates, it adds no row
    assert queue.live_workers(clock.now, within=DEAD_AFTER) == 2
    queue.sign_off("w1")
    assert queue.live_workers(clock.now, within=DEAD_AFTER) == 1
    clock.advance(seconds=4)
    assert queue.live_workers(clock.now, within=DEAD_AFTER) == 0


# -- a reclaimed lease is an attempt of unknown outcome --------------------------------


def test_a_reclaimed_lease_counts_as_an_attempt_of_unknown_outcome(
    ctx: Context, clock: FakeClock
) -> None:
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    (due,) = claim(ctx, "gone")
    clock.advance(seconds=61)
    assert ctx.queue.reclaim_expired(clock.now) == 1
    (row,) = setup.deliveries()
    assert row.state == "pending" and row.attempts == 1 and row.next_attempt_at == clock.now
    assert row.last_error == "outcome_unknown"
    (attempt,) = setup.attempts(due.id)
    assert (attempt.number, attempt.trigger, attempt.error) == (1, "worker", "outcome_unknown")
    assert attempt.status_code is None and "gone" in attempt.error_detail


def test_a_delivery_whose_every_lease_is_reclaimed_fails_at_the_end_of_its_schedule(
    ctx: Context, clock: FakeClock
) -> None:
    """A receiver that kills every worker it is sent to cannot loop for ever."""
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    (due,) = claim(ctx, "gone")
    last = len(due.retry_policy.delays) + 1  # the schedule's last attempt
    set_row(ctx, due.id, attempts=last - 1)
    clock.advance(seconds=61)
    assert ctx.queue.reclaim_expired(clock.now) == 1
    (after,) = setup.deliveries()
    assert after.state == "failed" and after.attempts == last
    assert after.completed_at == clock.now
    with ctx.db.read() as conn:
        assert claims.next_due_at(conn) is None


# -- settling ------------------------------------------------------------------------


def test_a_retry_settled_for_a_whole_second_is_due_at_that_second(
    ctx: Context, clock: FakeClock
) -> None:
    """SQLite keeps times as text, and settles bind their values themselves
    (``settles._settle_sqlite``): a whole second must be written as every other
    write writes it, or the claim's ``next_attempt_at <= now`` misses it."""
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    (due,) = claim(ctx, "w")
    failed = settlement_of(
        due, AttemptResult(500, 1.0, "", None, None, None), started_at=clock.now, now=clock.now
    )
    retry_at = clock.now.replace(microsecond=0) + timedelta(seconds=30)
    ctx.queue.settle_and_claim(
        [replace(failed, next_attempt_at=retry_at)],
        owner="w",
        now=clock.now,
        lease_until=clock.now + LEASE,
        limit=0,
        per_webhook_cap=10,
    )
    (row,) = setup.deliveries()
    assert (row.state, row.attempts, row.lease_owner) == ("pending", 1, None)
    with ctx.db.read() as conn:  # equal as a time, not only ordered as text
        found = conn.execute(
            select(deliveries.c.id).where(deliveries.c.next_attempt_at == retry_at)
        )
        assert found.scalars().all() == [due.id]
    clock.now = retry_at - timedelta(microseconds=1)
    assert claim(ctx, "w") == []
    clock.now = retry_at
    assert [d.id for d in claim(ctx, "w")] == [due.id]


def test_a_settle_by_a_worker_that_lost_the_lease_changes_no_row(ctx: Context) -> None:
    """The attempt it made is kept; the row stays the new owner's."""
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    (due,) = claim(ctx, "old")
    set_row(ctx, due.id, lease_owner="new")
    now = ctx.clock()
    done = settlement_of(due, OK, started_at=now, now=now)
    assert ctx.queue.settle([done], now, owner="old") == 0
    assert ctx.queue.settle([done], now, owner="new") == 1
    (row,) = setup.deliveries()
    assert (row.state, row.lease_owner) == ("delivered", None)
    with ctx.db.read() as conn:
        made = conn.execute(select(func.count()).where(attempts.c.delivery_id == due.id))
        assert made.scalar_one() == 2


def test_a_round_that_leases_nothing_peeks_at_the_next_due_time(
    ctx: Context, clock: FakeClock
) -> None:
    """``round(peek=True)``: the retry this very round settled is what it reads next."""
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()

    def round_of(settled: list[Any], *, peek: bool = True) -> Round:
        return ctx.queue.round(
            settled,
            owner="w",
            now=clock.now,
            lease_until=clock.now + LEASE,
            limit=10,
            per_webhook_cap=10,
            peek=peek,
        )

    first = round_of([])
    (due,) = first.leased
    assert not first.peeked  # it leased something: the worker is busy, no read
    failed = settlement_of(due, FAILED, started_at=clock.now, now=clock.now)
    assert failed.next_attempt_at is not None and failed.next_attempt_at > clock.now
    idle = round_of([failed])
    assert (idle.leased, idle.peeked, idle.next_due_at) == ([], True, failed.next_attempt_at)
    assert round_of([], peek=False) == Round([])  # not asked: not read
    clock.now = failed.next_attempt_at
    assert [d.id for d in round_of([]).leased] == [due.id]
    done = settlement_of(due, OK, started_at=clock.now, now=clock.now)
    assert round_of([done]) == Round([], peeked=True, next_due_at=None)  # nothing pending


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_postgres_round_asks_only_what_it_must(ctx: Context, clock: FakeClock) -> None:
    """One statement claims, says whether any webhook is FIFO and when the next delivery
    is due: an idle round runs it alone; FIFO heads are looked for only when some
    webhook is FIFO. (SQLite runs its statements in process: no round trips to save.)"""
    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    sent: list[str] = []
    event.listen(ctx.db.engine, "before_cursor_execute", lambda *a: sent.append(a[2]))

    def idle_round() -> Round:
        sent.clear()
        return ctx.queue.round(
            [],
            owner="w",
            now=clock.now,
            lease_until=clock.now + LEASE,
            limit=10,
            per_webhook_cap=10,
            peek=True,
        )

    idle_round()  # the connection's session learns its commits need not wait for the disk
    assert idle_round() == Round([], peeked=True, next_due_at=None)
    assert len(sent) == 1 and sent[0].endswith("AS blocked")  # the claim, with its look
    webhooks.update_webhook(
        ctx, setup.platform_id, setup.webhook_ids[0], given={"ordering": "fifo"}
    )
    idle_round()  # (that write was a durable one: the session is set back once)
    assert idle_round() == Round([], peeked=True, next_due_at=None)
    assert sent[0].endswith("AS blocked") and len(sent) > 1
    assert "webhooks.ordering" in sent[1]  # ordering.claim_heads looks for its heads


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_postgres_claim_reads_the_next_due_time_only_when_it_leases_nothing(
    ctx: Context, clock: FakeClock
) -> None:
    """That read walks ``ix_deliveries_due`` from its low end, past an entry for every
    delivery claimed since the last vacuum: a claim that leased something skips it."""
    from hookline.store import pg_batches

    setup = make_setup(ctx, ["http://127.0.0.1:9/hook"])
    setup.publish()
    setup.publish()
    first, second = sorted(setup.deliveries(), key=lambda r: r.next_attempt_at)
    later = clock.now + timedelta(minutes=5)
    set_row(ctx, second.id, next_attempt_at=later)

    def look(limit: int) -> pg_batches.Claim:
        with ctx.db.write() as conn:
            return pg_batches.claim(
                conn,
                owner="w",
                now=clock.now,
                lease_until=clock.now + LEASE,
                limit=limit,
                per_webhook_cap=10,
                lookahead=4,
            )

    leased = look(10)
    assert [r.id for r in leased.rows] == [first.id] and leased.next_due_at is None
    idle = look(10)
    assert idle.rows == [] and idle.next_due_at == later
