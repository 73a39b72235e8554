"""A PostgreSQL claim counts a webhook's in-flight deliveries from the workers' loads.

Each worker tells its claim what it has in flight per webhook (``InFlight``); the claim
adds its live peers' ``worker_loads`` rows and writes the claimer's own new load in the
same statement. It reads no delivery to count them: counting ``deliveries`` read every
row version a claim made since the last vacuum whenever PostgreSQL chose a bitmap scan
(migration 0014). A load is a row apart from the heartbeat's (migration 0015): the
heartbeat never waits for a round. SQLite counts the deliveries, which costs it nothing
of the kind.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Connection, select, text, update
from sqlalchemy.dialects import postgresql

from hookline.domain.deliveries import DueDelivery, InFlight
from hookline.store import claims, workers
from hookline.store.tables import deliveries, worker_loads
from tests.conftest import FakeClock
from tests.support.engine import Setup, make_setup

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("db", ["postgresql"], indirect=True)]

CAP = 3
LEASE = timedelta(seconds=60)
DEAD_AFTER = timedelta(seconds=3)


def claim(setup: Setup, owner: str, clock: FakeClock, mine: dict[str, int]) -> list[DueDelivery]:
    now = clock.now
    return setup.ctx.queue.round(
        [],
        owner=owner,
        now=now,
        lease_until=now + LEASE,
        limit=10,
        per_webhook_cap=CAP,
        peek=False,
        in_flight=InFlight(mine, peers_alive_since=now - DEAD_AFTER),
    ).leased


def beat(setup: Setup, name: str, at: object, load: dict[str, int] | None = None) -> None:
    with setup.ctx.db.write() as conn:
        workers.beat(conn, name, at)  # type: ignore[arg-type]
        if load is not None:
            set_load(conn, name, json.dumps(load))


def set_load(conn: Connection, name: str, raw: str) -> None:
    written = postgresql.insert(worker_loads).values(name=name, load=raw)
    conn.execute(written.on_conflict_do_update(index_elements=["name"], set_={"load": raw}))


def load_of(setup: Setup, name: str) -> dict[str, int]:
    with setup.ctx.db.read() as conn:
        raw = conn.execute(
            select(worker_loads.c.load).where(worker_loads.c.name == name)
        ).scalar_one()
    return dict(json.loads(raw))


def row_version(setup: Setup, name: str) -> str:
    """The transaction that wrote the row's current version (PostgreSQL's ``xmin``)."""
    with setup.ctx.db.read() as conn:
        found = conn.execute(
            text("SELECT xmin::text FROM worker_loads WHERE name = :n"), {"n": name}
        )
        return str(found.scalar_one())


@pytest.fixture
def setup(ctx: object, clock: FakeClock) -> Setup:
    made = make_setup(ctx, ["http://127.0.0.1:9/hook"])  # type: ignore[arg-type]
    for _ in range(10):
        made.publish()
    return made


def test_a_live_peers_load_fills_the_cap(setup: Setup, clock: FakeClock) -> None:
    (hook,) = setup.webhook_ids
    beat(setup, "me", clock.now)
    beat(setup, "peer", clock.now, load={hook: CAP})
    assert claim(setup, "me", clock, {}) == []


def test_a_dead_peers_load_counts_for_nothing(setup: Setup, clock: FakeClock) -> None:
    (hook,) = setup.webhook_ids
    beat(setup, "me", clock.now)
    beat(setup, "peer", clock.now - DEAD_AFTER - timedelta(seconds=1), load={hook: CAP})
    assert len(claim(setup, "me", clock, {})) == CAP


def test_its_own_count_and_a_peers_add_up(setup: Setup, clock: FakeClock) -> None:
    (hook,) = setup.webhook_ids
    beat(setup, "me", clock.now)
    beat(setup, "peer", clock.now, load={hook: 1})
    assert len(claim(setup, "me", clock, {hook: 1})) == CAP - 2


def test_the_claim_publishes_what_the_claimer_now_holds(setup: Setup, clock: FakeClock) -> None:
    (hook,) = setup.webhook_ids
    beat(setup, "me", clock.now, load={"wh_gone": 9})  # an old load is replaced, not added to
    leased = claim(setup, "me", clock, {hook: 1, "wh_other": 2})
    assert len(leased) == CAP - 1
    assert load_of(setup, "me") == {hook: CAP, "wh_other": 2}
    beat(setup, "peer", clock.now)
    assert claim(setup, "peer", clock, {}) == []  # the cap is full, as "me" published it


def test_deliveries_in_flight_are_not_what_is_counted(setup: Setup, clock: FakeClock) -> None:
    """Rows leased by a process with no load (a resend's lease, say) are not counted:
    proof that the claim reads loads, not deliveries. A worker's own rows always are,
    through its own count."""
    taken = [r.id for r in setup.deliveries()][:CAP]
    with setup.ctx.db.write() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(taken))
            .values(state="in_flight", lease_owner="resend", lease_expires_at=clock.now + LEASE)
        )
    beat(setup, "me", clock.now)
    assert len(claim(setup, "me", clock, {})) == CAP


def test_a_claimer_with_nothing_in_flight_publishes_an_empty_load(
    setup: Setup, clock: FakeClock
) -> None:
    """Its peers read it as nothing: an empty JSON object, not a JSON string or NULL."""
    (hook,) = setup.webhook_ids
    beat(setup, "idle", clock.now)
    with setup.ctx.db.write() as conn:
        conn.execute(update(deliveries).values(next_attempt_at=clock.now + LEASE))  # none due
    assert claim(setup, "idle", clock, {}) == []
    assert load_of(setup, "idle") == {}
    version = row_version(setup, "idle")
    assert claim(setup, "idle", clock, {}) == []
    assert row_version(setup, "idle") == version  # unchanged: the row is not rewritten
    clock.advance(seconds=61)
    beat(setup, "idle", clock.now)
    beat(setup, "me", clock.now)
    assert len(claim(setup, "me", clock, {})) == CAP
    assert load_of(setup, "me") == {hook: CAP}


def test_a_peers_load_of_another_shape_is_passed_over(setup: Setup, clock: FakeClock) -> None:
    beat(setup, "me", clock.now)
    beat(setup, "odd", clock.now)
    with setup.ctx.db.write() as conn:
        set_load(conn, "odd", "[1]")
    assert len(claim(setup, "me", clock, {})) == CAP


def test_the_heartbeat_does_not_wait_for_a_round(setup: Setup, clock: FakeClock) -> None:
    """A round's claim writes its load and holds that row until the round commits; the
    heartbeat, in another transaction meanwhile, goes through at once (with the load
    on the ``workers`` row it waited: a round slower than the dead-after time made a
    live worker look dead to its peers)."""
    beat(setup, "me", clock.now)
    now = clock.now
    with setup.ctx.db.write() as conn:  # the round's transaction, left open
        leased = claims.claim(
            conn,
            owner="me",
            now=now,
            lease_until=now + LEASE,
            limit=10,
            per_webhook_cap=CAP,
            in_flight=InFlight({}, peers_alive_since=now - DEAD_AFTER),
        ).leased
        assert len(leased) == CAP
        with setup.ctx.db.engine.connect() as other:
            other.exec_driver_sql("SET lock_timeout = '2s'")
            workers.beat(other, "me", now + timedelta(seconds=1))
            other.commit()
    assert load_of(setup, "me") == {setup.webhook_ids[0]: CAP}


def test_a_dead_workers_load_is_buried_with_it(setup: Setup, clock: FakeClock) -> None:
    """Taking a dead worker's leases back deletes its row and its load; a load whose
    worker never beat goes too. A live worker's stays."""
    (hook,) = setup.webhook_ids
    beat(setup, "me", clock.now, load={hook: 1})
    beat(setup, "dead", clock.now - DEAD_AFTER * 2, load={hook: 1})
    with setup.ctx.db.write() as conn:
        set_load(conn, "never-beat", json.dumps({hook: 1}))
        claims.reclaim_expired(conn, clock.now, dead_before=clock.now - DEAD_AFTER, alive="me")
    assert loads_kept(setup) == {"me"}
    with setup.ctx.db.write() as conn:
        workers.forget(conn, "me")  # a worker that stops cleanly signs off
    assert loads_kept(setup) == set()


def loads_kept(setup: Setup) -> set[str]:
    with setup.ctx.db.read() as conn:
        return set(conn.execute(select(worker_loads.c.name)).scalars())
