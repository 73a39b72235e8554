"""The worker's settle as one PostgreSQL statement: attempts recorded, deliveries moved on.

One statement, not three, for the reason ``pg_batches`` gives for the claim: each
statement is a round trip, and on a busy machine the trips, not the SQL, were most of
a worker's transaction. SQLite, in-process, keeps the plain forms (``settles``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, literal_column, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.dml import Update

from hookline.domain.deliveries import Attempt, DeliveryState
from hookline.store.bulk import columns_of, id_rows, ids_of, unnest_of
from hookline.store.tables import attempts, deliveries, webhooks

IN_FLIGHT = DeliveryState.IN_FLIGHT.value


def attempt_rows(made: Sequence[tuple[str, Attempt]]) -> list[dict[str, Any]]:
    """Attempt rows, one per (delivery id, attempt): every HTTP request made is kept."""
    return [
        {
            "delivery_id": delivery_id,
            "number": a.number,
            "trigger": a.trigger.value,
            "started_at": a.started_at,
            "latency_ms": a.latency_ms,
            "status_code": a.status_code,
            "error": a.error,
            "error_detail": a.error_detail,
            "response_body": a.response_body,
            "response_headers": a.response_headers,
        }
        for delivery_id, a in made
    ]


def settle_rows(
    conn: Connection,
    made: Sequence[tuple[str, Attempt]],
    rows: Sequence[dict[str, Any]],
    now: datetime,
    *,
    owner: str | None,
    healed: Sequence[str] = (),
) -> int:
    """Record ``made``, write ``rows`` (new delivery states) and end the failing period
    of the ``healed`` webhooks (``health.end_failing``), in one statement.

    ``WITH recorded AS (INSERT INTO attempts ... unnest), healed AS (UPDATE webhooks
    ...) UPDATE deliveries ... FROM unnest(...)``; answers how many deliveries changed.
    With an ``owner``, only rows it still leases change; the attempts are recorded
    either way. Ending a failing period was a statement of its own in every settle
    that delivered anything, a round trip that nearly always changed nothing.
    """
    made_columns, made_params = columns_of(conn, attempts, attempt_rows(made))
    columns, params = columns_of(conn, deliveries, rows)
    statement = _settle_statement(
        tuple(c.name for c in made_columns), tuple(c.name for c in columns), owned=owner is not None
    )
    params = {**made_params, **params, "settled_now": now, "healed_ids": ids_of(healed)}
    if owner is not None:
        params["settled_owner"] = owner
    return int(conn.execute(statement, params).rowcount)


_HEALED_ROWS = id_rows("healed")
_HEALED = (
    update(webhooks)
    .where(webhooks.c.id == _HEALED_ROWS.c.id, webhooks.c.failing_since.is_not(None))
    .values(failing_since=None)
)


@functools.cache
def _settle_statement(made: tuple[str, ...], settled: tuple[str, ...], *, owned: bool) -> Update:
    """The settle for these attempt and delivery columns, built once per column set."""
    made_columns = [attempts.c[name] for name in made]
    recorded = postgresql.insert(attempts).from_select(
        made_columns, select(*unnest_of(made_columns).c)
    )
    rows = unnest_of([deliveries.c[name] for name in settled], "settled")
    statement = (
        update(deliveries)
        .where(deliveries.c.id == rows.c.id)
        .values(
            state=rows.c.state,
            attempts=rows.c.attempts,
            next_attempt_at=rows.c.next_attempt_at,
            lease_owner=None,
            lease_expires_at=None,
            last_status_code=rows.c.last_status_code,
            last_error=rows.c.last_error,
            updated_at=bindparam("settled_now", type_=deliveries.c.updated_at.type),
            completed_at=rows.c.completed_at,
        )
        .add_cte(recorded.cte("recorded"))
        .add_cte(_HEALED.cte("healed"))
    )
    if owned:
        statement = statement.where(
            deliveries.c.lease_owner == bindparam("settled_owner"),
            deliveries.c.state == literal_column(f"'{IN_FLIGHT}'"),
        )
    return statement
