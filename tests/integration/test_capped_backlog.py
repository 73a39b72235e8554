"""A webhook at its in-flight cap with a deep backlog of due deliveries (a slow
receiver's) holds back no other webhook, and no claim pays for that backlog.

A claim reads a bounded stretch of the due index; when webhooks at their cap fill it,
it finds the others' due rows webhook by webhook (``store.due_by_webhook``). Before,
the scan left such webhooks out as it went, and so walked all their rows in every
claim: the claim's cost grew with one tenant's backlog, for every tenant.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event, insert, select, text, update
from sqlalchemy.dialects import postgresql

from hookline.domain.deliveries import DueDelivery, InFlight
from hookline.services.context import Context
from hookline.store import claims, workers
from hookline.store.tables import deliveries, worker_loads
from tests.conftest import FakeClock
from tests.support.engine import Setup, make_setup

CAP = 3
LEASE = timedelta(seconds=60)
LIMIT = 10  # a claim reads LIMIT * claims.LOOKAHEAD rows of the due index first


@pytest.fixture
def setup(ctx: Context) -> Setup:
    """Webhooks A (the slow one), B and C; one event, so one delivery each."""
    made = make_setup(ctx, [f"http://127.0.0.1:9/{name}" for name in "abc"])
    made.publish()
    return made


def add_rows(setup: Setup, webhook_id: str, n: int, *, due: datetime, state: str) -> None:
    """``n`` more deliveries of ``webhook_id``, copies of its first, in ``state``."""
    (first,) = setup.deliveries(webhook_id=webhook_id)[:1]
    template = dict(first._mapping)
    tag = f"{state[:2]}{webhook_id[-6:]}{due.timestamp():.0f}"
    rows = [
        {
            **template,
            "id": f"dlv_{tag}_{i:05d}",
            "idempotency_key": f"{tag}{i}"[-32:],
            "state": state,
            "next_attempt_at": due,
            "lease_owner": "elsewhere" if state == "in_flight" else None,
            "lease_expires_at": due + LEASE if state == "in_flight" else None,
        }
        for i in range(n)
    ]
    with setup.ctx.db.write() as conn:
        conn.execute(insert(deliveries), rows)


def slow_a(setup: Setup, clock: FakeClock, backlog: int) -> None:
    """A at its cap, with ``backlog`` due deliveries older than anyone else's."""
    a = setup.webhook_ids[0]
    with setup.ctx.db.write() as conn:  # the published ones: not due before the backlog
        conn.execute(update(deliveries).values(next_attempt_at=clock.now))
    add_rows(setup, a, CAP, due=clock.now - timedelta(hours=2), state="in_flight")
    add_rows(setup, a, backlog, due=clock.now - timedelta(hours=1), state="pending")
    with setup.ctx.db.write() as conn:
        conn.exec_driver_sql("ANALYZE")


def claim_in(
    conn: Connection, clock: FakeClock, in_flight: InFlight | None = None
) -> list[DueDelivery]:
    return claims.claim(
        conn,
        owner="me",
        now=clock.now,
        lease_until=clock.now + LEASE,
        limit=LIMIT,
        per_webhook_cap=CAP,
        in_flight=in_flight,
    ).leased


def test_a_webhook_at_its_cap_holds_back_no_other(setup: Setup, clock: FakeClock) -> None:
    a, b, c = setup.webhook_ids
    slow_a(setup, clock, backlog=LIMIT * claims.LOOKAHEAD * 5)
    add_rows(setup, b, 4, due=clock.now - timedelta(minutes=1), state="pending")
    with setup.ctx.db.write() as conn:
        leased = claim_in(conn, clock)
    got = [d.webhook_id for d in leased]
    assert a not in got
    assert got.count(b) == CAP and got.count(c) == 1  # B's cap, C's one delivery
    due = {r.id: r.next_attempt_at for r in setup.deliveries(lease_owner="me")}
    assert [due[d.id] for d in leased] == sorted(due.values())  # oldest due first


def test_a_webhook_gets_only_the_room_its_cap_leaves(setup: Setup, clock: FakeClock) -> None:
    _, b, c = setup.webhook_ids
    slow_a(setup, clock, backlog=LIMIT * claims.LOOKAHEAD * 2)
    add_rows(setup, b, 2, due=clock.now - timedelta(hours=3), state="in_flight")
    add_rows(setup, b, 5, due=clock.now - timedelta(minutes=1), state="pending")
    with setup.ctx.db.write() as conn:
        got = [d.webhook_id for d in claim_in(conn, clock)]
    assert sorted(got) == sorted([b, c])  # B had 2 of its 3 places taken


def test_a_claims_work_does_not_grow_with_the_backlog(setup: Setup, clock: FakeClock) -> None:
    """Counted, not timed: PostgreSQL's index entries and rows read (its statistics of
    the transaction), SQLite's virtual machine steps. Each backlog first gets its
    statistics refreshed: with one webhook holding most pending rows, PostgreSQL took
    the wrong index for the per-webhook reads until they were ordered by (due, id)."""
    work = []
    for backlog in (LIMIT * claims.LOOKAHEAD * 4, LIMIT * claims.LOOKAHEAD * 40):
        with setup.ctx.db.write() as conn:
            conn.execute(deliveries.delete())
        vacuum(setup)  # no dead entry of the first round in the second's way
        setup.publish()
        slow_a(setup, clock, backlog)
        with setup.ctx.db.write() as conn, counted(conn) as spent:
            assert len(claim_in(conn, clock)) == 2  # B's and C's one delivery each
            work.append(spent())
    small, deep = work
    assert deep < small * 2, work  # 10x the backlog; the walk made it 8-10x the work


def vacuum(setup: Setup) -> None:
    if setup.ctx.db.dialect == "postgresql":
        engine = setup.ctx.db.engine.execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM deliveries")


@contextmanager
def counted(conn: Connection) -> Iterator[Callable[[], int]]:
    if conn.dialect.name == "postgresql":
        before = _pg_reads(conn)
        yield lambda: _pg_reads(conn) - before
        return
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0

    raw = conn.connection.driver_connection
    raw.set_progress_handler(step, 10)  # type: ignore[union-attr]
    try:
        yield lambda: steps[0]
    finally:
        raw.set_progress_handler(None, 0)  # type: ignore[union-attr]


def _pg_reads(conn: Connection) -> int:
    """Rows of ``deliveries`` read in this transaction (fetched through an index or
    by a sequential scan): each of the backlog's rows that a walk passes is one."""
    found = conn.execute(
        text(
            "SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) "
            "FROM pg_stat_xact_user_tables WHERE relname = 'deliveries'"
        )
    )
    return int(found.scalar_one())


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_the_published_load_counts_both_ways_of_finding_rows(
    setup: Setup, clock: FakeClock
) -> None:
    """A at its cap by a live peer's load (the worker's own form of the claim): the
    rows found webhook by webhook are published with the rest."""
    a, b, c = setup.webhook_ids
    slow_a(setup, clock, backlog=LIMIT * claims.LOOKAHEAD * 2)
    with setup.ctx.db.write() as conn:
        for name in ("me", "peer"):
            workers.beat(conn, name, clock.now)
        written = postgresql.insert(worker_loads).values(name="peer", load=json.dumps({a: CAP}))
        conn.execute(written)
    mine = InFlight({b: 1}, peers_alive_since=clock.now - timedelta(seconds=3))
    with setup.ctx.db.write() as conn:
        got = sorted(d.webhook_id for d in claim_in(conn, clock, mine))
    assert got == sorted([b, c])
    with setup.ctx.db.read() as conn:
        raw = conn.execute(select(worker_loads.c.load).where(worker_loads.c.name == "me"))
        load: dict[str, Any] = json.loads(raw.scalar_one())
    assert load == {b: 2, c: 1}


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_it_looks_webhook_by_webhook_only_when_that_can_find_more(
    setup: Setup, clock: FakeClock
) -> None:
    """Each look is a statement more (a round trip): with every webhook at its cap, as
    a few busy webhooks at the default cap are under load, it would find nothing."""
    _, b, c = setup.webhook_ids
    slow_a(setup, clock, backlog=LIMIT * claims.LOOKAHEAD * 2)
    for webhook_id in (b, c):
        add_rows(setup, webhook_id, CAP, due=clock.now - timedelta(hours=3), state="in_flight")
    sent: list[str] = []
    event.listen(setup.ctx.db.engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
    with setup.ctx.db.write() as conn:
        assert claim_in(conn, clock) == []
    assert len(sent) == 1
    with setup.ctx.db.write() as conn:
        freed = deliveries.delete().where(
            deliveries.c.webhook_id == c, deliveries.c.state == "in_flight"
        )
        conn.execute(freed)
    sent.clear()
    with setup.ctx.db.write() as conn:
        assert [d.webhook_id for d in claim_in(conn, clock)] == [c]
    assert len(sent) == 2
