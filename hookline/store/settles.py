"""Settles: the attempts a worker made and the states they move deliveries to.

Every HTTP request made is kept (``attempts``), whether or not its lease still held;
a delivery row changes only while its worker still leases it. On PostgreSQL one
statement does both (``pg_settles.settle_rows``); SQLite binds its rows once and hands
them to the driver's ``executemany`` (``_settle_sqlite``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hookline.domain.deliveries import Attempt, DeliveryState, Settlement
from hookline.store import health, pg_settles
from hookline.store.bulk import bound_rows, insert_rows
from hookline.store.tables import attempts, deliveries

IN_FLIGHT = DeliveryState.IN_FLIGHT.value
FINAL = frozenset({DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.CANCELLED})


def insert_attempts(conn: Connection, made: Sequence[tuple[str, Attempt]]) -> None:
    """Attempt rows, one per (delivery id, attempt): every HTTP request made is kept."""
    if made:
        insert_rows(conn, attempts, pg_settles.attempt_rows(made))


def write_settlements(
    conn: Connection,
    settlements: Sequence[Settlement],
    now: datetime,
    *,
    owner: str | None,
    healed: Sequence[str] = (),
) -> int:
    """Write attempts and new delivery states; with an ``owner``, only rows it still leases.

    Answers how many delivery rows changed. The attempt is recorded either way: a
    worker whose lease ran out still made that HTTP request. ``healed``: webhooks
    whose failing period is over (``health.end_failing``), in the same statement on
    PostgreSQL.
    """
    if not settlements:
        return 0
    made = [(s.delivery_id, s.attempt) for s in settlements]
    if conn.dialect.name != "postgresql":
        insert_attempts(conn, made)
    rows = [
        {
            "id": s.delivery_id,
            "state": s.state.value,
            "attempts": s.attempt.number,
            "next_attempt_at": s.next_attempt_at,
            "last_status_code": s.attempt.status_code,
            "last_error": s.attempt.error,
            "completed_at": now if s.state in FINAL else None,
        }
        for s in settlements
    ]
    if conn.dialect.name == "postgresql":
        return pg_settles.settle_rows(conn, made, rows, now, owner=owner, healed=healed)
    health.end_failing(conn, healed)
    return _settle_sqlite(conn, rows, now, owner=owner)


_SETTLED = (
    "state",
    "attempts",
    "next_attempt_at",
    "last_status_code",
    "last_error",
    "completed_at",
    "updated_at",
)
_SETTLE_SQLITE = (  # columns from our own table; every value is a bound parameter
    f"UPDATE deliveries SET {', '.join(f'{name} = ?' for name in _SETTLED)},"  # noqa: S608
    " lease_owner = NULL, lease_expires_at = NULL WHERE id = ?"
)


def _settle_sqlite(
    conn: Connection, rows: Sequence[dict[str, Any]], now: datetime, *, owner: str | None
) -> int:
    """One driver ``executemany`` of rows bound once (``bulk.bound_rows``).

    SQLite's write lock is held meanwhile: SQLAlchemy's own ``executemany`` spent more
    Python per settled row (a parameter dict, every column's processing) than SQLite
    spent writing it, and every other writer, ingest included, waited for it.
    """
    names = [*_SETTLED, "id"]
    statement = _SETTLE_SQLITE
    if owner is not None:
        names.append("lease_owner")
        statement += f" AND lease_owner = ? AND state = '{IN_FLIGHT}'"
    columns = [deliveries.c[name] for name in names]
    values = [{**row, "updated_at": now, "lease_owner": owner} for row in rows]
    result = conn.exec_driver_sql(statement, bound_rows(conn, columns, values))
    return int(result.rowcount)
