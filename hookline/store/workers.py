"""Worker heartbeats: who is alive, so a dead worker's leases need not wait to expire.

Each running worker rewrites its row about once a second; ``claims.reclaim_expired``
treats the leases of a worker silent for longer than a few beats as void, and
``/readyz`` counts the workers that beat recently.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, delete, func, insert, select, update

from hookline.store.tables import workers


def beat(conn: Connection, name: str, now: datetime) -> None:
    """One UPDATE; the INSERT only on a worker's first beat (or after it was presumed dead)."""
    result = conn.execute(update(workers).where(workers.c.name == name).values(heartbeat_at=now))
    if not result.rowcount:
        conn.execute(insert(workers).values(name=name, started_at=now, heartbeat_at=now))


def forget(conn: Connection, name: str) -> None:
    conn.execute(delete(workers).where(workers.c.name == name))


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
