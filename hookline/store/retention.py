"""Retention: old events with their deliveries and attempts, old producer ids, stale logins."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select

from hookline.store import users
from hookline.store.bulk import id_rows, ids_of
from hookline.store.tables import attempts, deliveries, events, ingest_keys

INGEST_KEY_WINDOW = timedelta(hours=24)
"""Producer ids are deduplicated this long (``services.ingest`` uses this window)."""
FAILED_LOGIN_MEMORY = timedelta(hours=24)
"""A login failure count nobody added to for this long is forgotten."""

_GONE = id_rows("purged")
_PURGE_PG = (  # children first; built once, the events' ids bound as one array
    delete(attempts).where(
        attempts.c.delivery_id.in_(
            select(deliveries.c.id).where(deliveries.c.event_id == _GONE.c.id).scalar_subquery()
        )
    ),
    delete(deliveries).where(deliveries.c.event_id == _GONE.c.id),
    delete(events).where(events.c.id == _GONE.c.id),
)


def purge_before(conn: Connection, cutoff: datetime, *, batch: int = 500) -> int:
    """Delete up to ``batch`` events received before ``cutoff`` with their deliveries."""
    event_ids = [
        r.id
        for r in conn.execute(
            select(events.c.id).where(events.c.received_at < cutoff).limit(batch)
        ).all()
    ]
    if not event_ids:
        return 0
    if conn.dialect.name == "postgresql":
        # joined with unnest: a prepared IN (500 parameters) may get a generic plan
        # that searches the whole list for every row it reads (store/bulk.id_rows)
        purged = {"purged_ids": ids_of(event_ids)}
        for statement in _PURGE_PG:
            conn.execute(statement, purged)
        return len(event_ids)
    delivery_ids = select(deliveries.c.id).where(deliveries.c.event_id.in_(event_ids))
    conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(delivery_ids)))
    conn.execute(delete(deliveries).where(deliveries.c.event_id.in_(event_ids)))
    conn.execute(delete(events).where(events.c.id.in_(event_ids)))
    return len(event_ids)


def purge_ingest_keys(conn: Connection, cutoff: datetime) -> int:
    result = conn.execute(delete(ingest_keys).where(ingest_keys.c.created_at < cutoff))
    return int(result.rowcount)


PURGE_STEP = 100
"""Events purged by the first step of a purge; later steps are sized by ``PurgeSteps``."""
PURGE_STEPS = 5
"""Steps per purge call: the worker's maintenance round still purges as much as before."""
PURGE_STEP_TARGET = 0.025
"""Seconds one step may hold the write lock: on SQLite every other writer waits for it."""
PURGE_PAUSE = 0.003
"""Seconds a SQLite purge waits between steps: a writer waiting for the lock retries
about every millisecond, so without a pause the purge took it straight back."""


class PurgeSteps:
    """The size of the next purge step: halved after a step that held the lock longer
    than ``PURGE_STEP_TARGET``, doubled (up to ``MAX``) after a quick one.

    Old history is cold (read from disk) and its rows may have many attempts, so a
    fixed number of events took anything from 10 to several hundred milliseconds.
    """

    MIN, MAX = 10, 500

    def __init__(self, size: int = PURGE_STEP) -> None:
        self.size = size

    def took(self, seconds: float) -> None:
        if seconds > PURGE_STEP_TARGET:
            self.size = max(self.MIN, self.size // 2)
        elif seconds < PURGE_STEP_TARGET / 2:
            self.size = min(self.MAX, self.size * 2)


def purge_others(conn: Connection, now: datetime) -> None:
    """The small purges of a round: producer ids past their window, stale login failures."""
    purge_ingest_keys(conn, now - INGEST_KEY_WINDOW)
    users.purge_stale(conn, now, now - FAILED_LOGIN_MEMORY)
