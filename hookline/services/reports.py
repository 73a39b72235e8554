"""What the dashboard summarises: each webhook's last result and its last 24 hours.

Kept apart from the delivery use cases because nothing here changes state and the
shapes exist only to be drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hookline.domain.deliveries import DeliveryState
from hookline.services.context import Context
from hookline.store import reports as store

CHART_HOURS = 24
RETRY_WINDOW = timedelta(days=7)
"""How far back a delivery may have been created and still count in the chart."""


@dataclass(frozen=True)
class LastResult:
    state: DeliveryState
    status_code: int | None
    error: str | None
    at: datetime


@dataclass(frozen=True)
class HourBucket:
    """Deliveries that ended in the hour starting at ``start``."""

    start: datetime
    delivered: int
    failed: int


def last_results(
    ctx: Context, platform_id: str, webhook_ids: Sequence[str]
) -> dict[str, LastResult]:
    with ctx.db.read() as conn:
        rows = store.last_deliveries(conn, webhook_ids)
    return {
        webhook_id: LastResult(
            state=DeliveryState(row.state),
            status_code=row.last_status_code,
            error=row.last_error,
            at=row.updated_at,
        )
        for webhook_id, row in rows.items()
        if row.platform_id == platform_id
    }


def hourly_outcomes(
    ctx: Context, platform_id: str, webhook_id: str, hours: int = CHART_HOURS
) -> list[HourBucket]:
    """``hours`` buckets, oldest first; the last one is the current, unfinished hour.

    Another platform's webhook has no deliveries here: the caller, which shows the
    webhook itself, has already answered 404 for it.
    """
    now = ctx.clock()
    current = now.replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=hours - 1)
    with ctx.db.read() as conn:
        rows = store.hourly_counts(
            conn, platform_id, webhook_id, created_since=first - RETRY_WINDOW, completed_since=first
        )
    delivered = [0] * hours
    failed = [0] * hours
    for hour, state, count in rows:
        index = int((hour - first).total_seconds() // 3600)
        if not 0 <= index < hours:
            continue
        if state == DeliveryState.DELIVERED:
            delivered[index] += count
        elif state == DeliveryState.FAILED:
            failed[index] += count
    return [
        HourBucket(start=first + timedelta(hours=i), delivered=delivered[i], failed=failed[i])
        for i in range(hours)
    ]
