"""Rate-limited webhooks: never more than N leases a second, every worker counted (issue 16 §2).

A claim leases due deliveries as usual, then ``admit`` counts those of rate-limited
webhooks against the webhook's window in ``rate_windows``: one row per webhook, the
second it is for (the claiming worker's clock, whole seconds) and how many leases
that second gave out. The row is locked (PostgreSQL ``FOR UPDATE``; SQLite has one
writer) and updated in the claim's own transaction, so claims on any number of
processes and machines count together, exactly. Leases over the limit are given
back untouched before the transaction commits: no attempt is made or counted, the
delivery is pending again and due at the next window.

Why after the claim and not inside it: the ordinary claim walks the due index and
stays as it was for webhooks without a limit; what they pay is one read of the
partial index ``ix_webhooks_rate_limited`` per claim that leased anything (empty
when no webhook is limited: ``bench/controls_cost.py``). A webhook whose window is
full has its backlog spread over the next seconds, ``limit`` rows a second (up to
``HORIZON_ROWS`` rows, the rest after them), so later claims do not keep leasing
and giving back the same rows, and the worker's "next due" wait stays exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hookline.domain.deliveries import DeliveryState, DueDelivery
from hookline.store.db import chunks
from hookline.store.tables import deliveries, rate_windows, webhooks

SECOND = timedelta(seconds=1)
HORIZON_SECONDS = 10
HORIZON_ROWS = 2000
PENDING = DeliveryState.PENDING.value
IN_FLIGHT = DeliveryState.IN_FLIGHT.value
IS_PENDING = deliveries.c.state == literal_column(f"'{PENDING}'")

# Built once: it runs in every claim that leased something (see ordering.py).
_LIMITED = select(webhooks.c.id, webhooks.c.rate_limit_per_second).where(
    webhooks.c.rate_limit_per_second.is_not(None)  # ix_webhooks_rate_limited
)
_WINDOW = select(rate_windows.c.window_start, rate_windows.c.used).where(
    rate_windows.c.webhook_id == bindparam("webhook_id")
)
_WINDOW_LOCKED = _WINDOW.with_for_update()


def admit(conn: Connection, leased: list[DueDelivery], now: datetime) -> list[DueDelivery]:
    """The leases the webhooks' limits allow this second; the others go back pending."""
    if not leased:
        return leased
    limits = {str(w): int(n) for w, n in conn.execute(_LIMITED).all()}
    if not limits:
        return leased
    wanted = Counter(d.webhook_id for d in leased if d.webhook_id in limits)
    window = now.replace(microsecond=0)
    refused: set[str] = set()
    for webhook_id in sorted(wanted):  # one lock order: two claims never deadlock
        limit = limits[webhook_id]
        start, granted = _take(conn, webhook_id, limit, wanted[webhook_id], window)
        if granted < wanted[webhook_id]:
            over = [d.id for d in leased if d.webhook_id == webhook_id][granted:]
            _give_back(conn, over, now)
            _spread(conn, webhook_id, limit, start + SECOND)
            refused.update(over)
    return [d for d in leased if d.id not in refused] if refused else leased


def _take(
    conn: Connection, webhook_id: str, limit: int, wanted: int, window: datetime
) -> tuple[datetime, int]:
    """Count up to ``wanted`` leases in the webhook's window: (window start, granted).

    A window another worker opened later than ours (its clock is ahead) is the one
    counted in, so a lagging clock never reopens a second already used up.
    """
    query = _WINDOW_LOCKED if conn.dialect.name == "postgresql" else _WINDOW
    row = conn.execute(query, {"webhook_id": webhook_id}).first()
    if row is None:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(
            insert(rate_windows)
            .values(webhook_id=webhook_id, window_start=window, used=0)
            .on_conflict_do_nothing()
        )
        row = conn.execute(query, {"webhook_id": webhook_id}).one()
    start = max(window, row.window_start)
    used = int(row.used) if row.window_start == start else 0
    granted = max(0, min(wanted, limit - used))
    conn.execute(
        update(rate_windows)
        .where(rate_windows.c.webhook_id == webhook_id)
        .values(window_start=start, used=used + granted)
    )
    return start, granted


def _give_back(conn: Connection, ids: Sequence[str], now: datetime) -> None:
    """Leases over the limit, as if never taken (a FIFO head gets a due time: it is
    then taken by the ordinary claim, its followers still waiting behind it)."""
    for chunk in chunks(ids):
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(chunk), deliveries.c.state == IN_FLIGHT)
            .values(
                state=PENDING,
                lease_owner=None,
                lease_expires_at=None,
                updated_at=now,
                next_attempt_at=func.coalesce(deliveries.c.next_attempt_at, now),
            )
        )


def _spread(conn: Connection, webhook_id: str, limit: int, resume: datetime) -> None:
    """The webhook's due backlog, oldest first, ``limit`` a second from ``resume`` on."""
    seconds = max(1, min(HORIZON_SECONDS, HORIZON_ROWS // limit))
    backlog = [
        deliveries.c.webhook_id == webhook_id,
        IS_PENDING,
        deliveries.c.next_attempt_at < resume,
    ]
    ids = list(
        conn.execute(
            select(deliveries.c.id)
            .where(*backlog)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.created_at, deliveries.c.id)
            .limit(limit * seconds)
        ).scalars()
    )
    for k in range(0, len(ids), limit):
        for chunk in chunks(ids[k : k + limit]):
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(chunk))
                .values(next_attempt_at=resume + (k // limit) * SECOND)
            )
    # what is left goes after them, to be spread in its turn
    conn.execute(
        update(deliveries).where(*backlog).values(next_attempt_at=resume + seconds * SECOND)
    )
