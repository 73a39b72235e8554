"""The queue as a scrape sees it: depth, the oldest due row, the failing webhooks.

Read at most once per scrape (every 15 s or so), each an index range of
``ix_deliveries_state_next_attempt_at`` or a read of the small webhooks table; cost
grows with what is pending, never with the delivery history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, func, select

from hookline.domain.deliveries import DeliveryState
from hookline.domain.models import WebhookStatus
from hookline.store.tables import deliveries, webhooks

PENDING = DeliveryState.PENDING.value
IN_FLIGHT = DeliveryState.IN_FLIGHT.value


@dataclass(frozen=True)
class QueueStats:
    by_state: dict[str, int]
    due: int
    oldest_due_at: datetime | None
    failing_since: dict[str, datetime]
    """The longest-failing working webhooks, at most ``failing_limit`` of them."""
    failing_total: int


def read(conn: Connection, now: datetime, *, failing_limit: int) -> QueueStats:
    by_state = {
        state: int(conn.execute(_count().where(deliveries.c.state == state)).scalar() or 0)
        for state in (PENDING, IN_FLIGHT)
    }
    due_rows = conn.execute(
        select(func.count(), func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.state == PENDING, deliveries.c.next_attempt_at <= now
        )
    ).one()
    failing = (webhooks.c.status == WebhookStatus.WORKING.value) & (
        webhooks.c.failing_since.is_not(None)
    )
    longest = conn.execute(
        select(webhooks.c.id, webhooks.c.failing_since)
        .where(failing)
        .order_by(webhooks.c.failing_since, webhooks.c.id)
        .limit(failing_limit)
    ).all()
    total = conn.execute(select(func.count()).select_from(webhooks).where(failing)).scalar()
    return QueueStats(
        by_state=by_state,
        due=int(due_rows[0] or 0),
        oldest_due_at=due_rows[1],
        failing_since={r.id: r.failing_since for r in longest},
        failing_total=int(total or 0),
    )


def _count() -> Select[int]:
    return select(func.count()).select_from(deliveries)
