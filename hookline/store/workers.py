"""Worker heartbeats: who is alive, so a dead worker's leases need not wait to expire.

Each running worker rewrites its row about once a second; ``claims.reclaim_expired``
treats the leases of a worker silent for longer than a few beats as void, and
``/readyz`` counts the workers that beat recently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from hookline.store.tables import deliveries, worker_loads, workers
from hookline.store.tables_surveycake import surveycake_notifications

IN_FLIGHT = "in_flight"  # the state of a leased delivery and of a leased notification


def beat(conn: Connection, name: str, now: datetime) -> None:
    """One UPDATE; the INSERT only on a worker's first beat (or after it was presumed dead)."""
    result = conn.execute(update(workers).where(workers.c.name == name).values(heartbeat_at=now))
    if not result.rowcount:
        conn.execute(insert(workers).values(name=name, started_at=now, heartbeat_at=now))


def forget(conn: Connection, name: str) -> None:
    conn.execute(delete(workers).where(workers.c.name == name))
    conn.execute(delete(worker_loads).where(worker_loads.c.name == name))


def bury(conn: Connection, before: datetime, *, alive: str | None = None) -> None:
    """The rows of workers ``silent`` since ``before`` deleted, once they hold no lease,
    and every load whose worker has no row (theirs, and one a worker killed before its
    first beat left).

    A silent worker's row is what tells a reclaim its leases are void. The delivery
    reclaim (which calls this) has just taken back its deliveries, but SurveyCake's job
    takes back notifications in its own time: a row deleted first left the dead
    worker's notification to wait for its lease to end, minutes later. A delivery it
    still holds (skipped because another reclaim had it locked) keeps the row too.
    """
    name = workers.c.name
    holding = or_(
        exists().where(deliveries.c.lease_owner == name, deliveries.c.state == IN_FLIGHT),
        exists().where(
            surveycake_notifications.c.lease_owner == name,
            surveycake_notifications.c.state == IN_FLIGHT,
        ),
    )
    # the reclaim runs this every worker round and nearly always finds no one silent:
    # the lease lookups run only for those it does find
    dead = conn.execute(select(name).where(silent(before, alive=alive))).scalars().all()
    if dead:
        conn.execute(delete(workers).where(name.in_(dead), ~holding))
    orphan = ~exists().where(workers.c.name == worker_loads.c.name)
    conn.execute(delete(worker_loads).where(orphan))


def alive(conn: Connection, since: datetime) -> int:
    count = conn.execute(
        select(func.count()).select_from(workers).where(workers.c.heartbeat_at >= since)
    ).scalar()
    return int(count or 0)


def silent(before: datetime, *, alive: str | None = None) -> ColumnElement[bool]:
    """Workers without a heartbeat since ``before``: dead, their leases void at once
    (deliveries: ``claims.reclaim_expired``; SurveyCake notifications). ``alive``, the
    caller, never is, even if its own beats failed lately."""
    stale = workers.c.heartbeat_at < before
    return stale if alive is None else and_(stale, workers.c.name != alive)


def lease_void(
    owner: ColumnElement[Any],
    expires_at: ColumnElement[Any],
    now: datetime,
    *,
    dead_before: datetime | None = None,
    alive: str | None = None,
) -> ColumnElement[bool]:
    """A lease that ran out or, with ``dead_before``, whose owner is ``silent``: the
    rule for deliveries (``claims.reclaim_expired``) and SurveyCake notifications."""
    lapsed = expires_at < now
    if dead_before is None:
        return lapsed
    dead = select(workers.c.name).where(silent(dead_before, alive=alive))
    return or_(lapsed, owner.in_(dead.scalar_subquery()))
