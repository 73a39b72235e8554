"""Read-only summaries for the dashboard: last result per webhook, outcomes per hour."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from hookline.store.tables import deliveries


def last_deliveries(conn: Connection, webhook_ids: Sequence[str]) -> dict[str, Any]:
    """The newest delivery row of each webhook (uses the (webhook_id, created_at) index)."""
    out: dict[str, Any] = {}
    for webhook_id in webhook_ids:
        row = conn.execute(
            select(deliveries)
            .where(deliveries.c.webhook_id == webhook_id)
            .order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            out[webhook_id] = row
    return out


def completions(
    conn: Connection, webhook_id: str, *, created_since: datetime, completed_since: datetime
) -> list[tuple[datetime, str]]:
    """(completed_at, state) of the webhook's deliveries that ended since ``completed_since``.

    ``created_since`` bounds the scan to the index; deliveries retried for longer than
    that window are left out of the chart, which is about the recent past.
    """
    rows = conn.execute(
        select(deliveries.c.completed_at, deliveries.c.state).where(
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.created_at >= created_since,
            deliveries.c.completed_at >= completed_since,
        )
    ).all()
    return [(r.completed_at, r.state) for r in rows]
