"""Rows for the backlog scenario, made by the database itself: one statement per table.

PostgreSQL counts with ``generate_series``, SQLite with a recursive CTE; every row
is the same shape the code writes (delivery rows as ``store.ingest`` makes them,
attempts as ``store.claims`` records them). Ids are ``<prefix>_<n>``: unique per
batch of rows, never hookline's own format, so they cannot collide with real ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, text

from hookline.store.tables import platform_zones, platforms, webhook_topics, webhooks
from hookline.store.types import UTCDateTime

PLATFORM = "plt_backlog"
TOPIC = "receipt.receipt_validated"
WEBHOOKS = 3  # DELIVERIES_SQL spreads rows over three webhooks


def numbers(conn: Connection) -> str:
    """A FROM clause ``seq(g)`` of 1..:n on either backend (``g`` the number)."""
    if conn.dialect.name == "postgresql":
        return "generate_series(1, :n) AS seq(g)"
    return "seq"


def _with(conn: Connection) -> str:
    if conn.dialect.name == "postgresql":
        return ""
    return "WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < :n) "


def tenant(conn: Connection, now: datetime, url: str) -> None:
    """One platform with zone 1 and three working webhooks of the topic."""
    conn.execute(
        insert(platforms).values(
            id=PLATFORM,
            name="backlog",
            timezone="UTC",
            webhook_limit=10,
            retry_policy="extended",
            created_at=now,
            updated_at=now,
        )
    )
    conn.execute(
        insert(platform_zones).values(
            platform_id=PLATFORM,
            zone=1,
            valid_until=datetime(2100, 1, 1).astimezone(),
            updated_at=now,
        )
    )
    for i in range(WEBHOOKS):
        conn.execute(
            insert(webhooks).values(
                id=f"whk_backlog{i}",
                platform_id=PLATFORM,
                name=f"w{i}",
                url=url,
                status="working",
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            insert(webhook_topics).values(webhook_id=f"whk_backlog{i}", topic=TOPIC, position=0)
        )


EVENTS_SQL = (
    "INSERT INTO events (id, platform_id, topic, producer_id, body, occurred_at, "
    "received_at, is_test) SELECT :prefix || 'e_' || g, :platform, :topic, NULL, :body, "
    ":at, :at, false FROM {numbers}"
)
DELIVERIES_SQL = (
    "INSERT INTO deliveries (id, event_id, webhook_id, platform_id, topic, idempotency_key, "
    "state, attempts, next_attempt_at, last_status_code, created_at, updated_at, "
    "completed_at) SELECT :prefix || 'd_' || g, :prefix || 'e_' || ((g - 1) / 3 + 1), "
    "coalesce(:webhook, 'whk_backlog' || ((g - 1) % 3)), :platform, :topic, "
    ":prefix || 'k' || g, :state, "
    ":attempts, :due, :status, :at, :at, :completed FROM {numbers}"
)
ATTEMPTS_SQL = (
    "INSERT INTO attempts (delivery_id, number, trigger, started_at, latency_ms, "
    "status_code, error, error_detail, response_body) "
    "SELECT :prefix || 'd_' || g, 1, 'worker', :at, 5.0, 200, NULL, NULL, '' FROM {numbers}"
)


def _run(conn: Connection, template: str, params: dict[str, Any]) -> None:
    """``template`` over 1..:n: the only text put in is this module's own FROM clause."""
    sql = _with(conn) + template.format(numbers=numbers(conn))
    times = [bindparam(name, type_=UTCDateTime()) for name in ("at", "due", "completed")]
    used = [b for b in times if f":{b.key}" in sql]
    conn.execute(text(sql).bindparams(*used), params)


def deliveries(
    conn: Connection,
    prefix: str,
    count: int,
    *,
    at: datetime,
    state: str,
    due: datetime | None,
    attempts: bool = False,
    webhook: str | None = None,
) -> None:
    """``count`` deliveries (and one event per three) stamped ``at``, in ``state``.

    ``due``: their next_attempt_at (pending rows). ``attempts``: one attempt each, as
    a settled delivery has. ``webhook``: all of them its (else the three in turn).
    """
    common = {"prefix": prefix, "at": at, "platform": PLATFORM, "topic": TOPIC}
    events = (count + WEBHOOKS - 1) // WEBHOOKS
    _run(conn, EVENTS_SQL, {**common, "n": events, "body": b'{"backlog": true}'})
    final = state in ("delivered", "failed", "cancelled")
    _run(
        conn,
        DELIVERIES_SQL,
        {
            **common,
            "n": count,
            "state": state,
            "attempts": 1 if final else 0,
            "due": due,
            "status": 200 if final else None,
            "completed": at if final else None,
            "webhook": webhook,
        },
    )
    if attempts:
        _run(conn, ATTEMPTS_SQL, {"n": count, "prefix": prefix, "at": at})


def analyze(conn: Connection) -> None:
    """Fresh statistics, as autovacuum (PostgreSQL) or ``PRAGMA optimize`` would give."""
    conn.exec_driver_sql("ANALYZE")
