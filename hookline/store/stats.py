"""A webhook's health over a window, computed by the database: counts and percentiles.

Both statements start from ``ix_deliveries_webhook_id_updated_at``: the rows a webhook
settled or last tried since the window began, never its whole history. Test sends
(``deliveries.is_test``) are left out: they say nothing of real traffic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, false, func, or_, select

from hookline.domain.deliveries import DeliveryState
from hookline.store.tables import attempts, deliveries

RETRYING = (DeliveryState.PENDING.value, DeliveryState.IN_FLIGHT.value)


@dataclass(frozen=True)
class WindowFigures:
    delivered: int
    failed: int
    p50_ms: float | None
    p95_ms: float | None


def _touched(platform_id: str, webhook_id: str, since: datetime) -> list[ColumnElement[bool]]:
    return [
        deliveries.c.webhook_id == webhook_id,
        deliveries.c.updated_at >= since,
        deliveries.c.platform_id == platform_id,
        deliveries.c.is_test == false(),
    ]


def window_figures(
    conn: Connection, platform_id: str, webhook_id: str, since: datetime
) -> WindowFigures:
    """Delivered and failed deliveries since ``since``, and the p50/p95 of their attempts.

    "Failed" counts the deliveries that gave up and those still retrying after a failed
    attempt: an endpoint failing for an hour shows it now, not when retries run out.
    """
    failing = or_(
        deliveries.c.state == DeliveryState.FAILED.value,
        and_(deliveries.c.state.in_(RETRYING), deliveries.c.last_error.is_not(None)),
    )
    counts = conn.execute(
        select(
            func.count(case((deliveries.c.state == DeliveryState.DELIVERED.value, 1))),
            func.count(case((failing, 1))),
        ).where(*_touched(platform_id, webhook_id, since))
    ).one()
    p50, p95 = _percentiles(conn, platform_id, webhook_id, since, (0.5, 0.95))
    return WindowFigures(int(counts[0]), int(counts[1]), p50, p95)


def _latencies(platform_id: str, webhook_id: str, since: datetime) -> Any:
    return (
        select(attempts.c.latency_ms)
        .join(deliveries, deliveries.c.id == attempts.c.delivery_id)
        .where(*_touched(platform_id, webhook_id, since), attempts.c.started_at >= since)
    )


def _percentiles(
    conn: Connection, platform_id: str, webhook_id: str, since: datetime, ranks: Sequence[float]
) -> list[float | None]:
    """Nearest-rank percentiles (``percentile_disc``): the same value on both backends.

    SQLite has no ordered-set aggregates: it counts, then reads each rank's row with
    ``ORDER BY ... LIMIT 1 OFFSET ceil(p*n)-1``, which is what ``percentile_disc`` picks.
    """
    if conn.dialect.name == "postgresql":
        wanted = _latencies(platform_id, webhook_id, since).subquery()
        row = conn.execute(
            select(*(func.percentile_disc(p).within_group(wanted.c.latency_ms) for p in ranks))
        ).one()
        return [None if v is None else round(float(v), 3) for v in row]
    query = _latencies(platform_id, webhook_id, since)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    if not total:
        return [None for _ in ranks]
    out: list[float | None] = []
    for p in ranks:
        offset = max(math.ceil(p * total) - 1, 0)
        value = conn.execute(
            query.order_by(attempts.c.latency_ms).limit(1).offset(offset)
        ).scalar_one()
        out.append(round(float(value), 3))
    return out


def counts_of(
    conn: Connection, platform_id: str, webhook_ids: Sequence[str], since: datetime
) -> dict[str, tuple[int, int]]:
    """``(delivered, failed)`` per webhook since ``since``, in one grouped statement."""
    if not webhook_ids:
        return {}
    failing = or_(
        deliveries.c.state == DeliveryState.FAILED.value,
        and_(deliveries.c.state.in_(RETRYING), deliveries.c.last_error.is_not(None)),
    )
    rows = conn.execute(
        select(
            deliveries.c.webhook_id,
            func.count(case((deliveries.c.state == DeliveryState.DELIVERED.value, 1))),
            func.count(case((failing, 1))),
        )
        .where(
            deliveries.c.webhook_id.in_(list(webhook_ids)),
            deliveries.c.updated_at >= since,
            deliveries.c.platform_id == platform_id,
            deliveries.c.is_test == false(),
        )
        .group_by(deliveries.c.webhook_id)
    ).all()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def failed_since(conn: Connection, platform_id: str, webhook_id: str, since: datetime) -> int:
    """How many failed deliveries created since ``since`` a recover would send again.

    The same rows ``claims.requeue_failed`` takes, counted off the (webhook_id,
    created_at) index, so the number shown before confirming is the number requeued.
    """
    return int(
        conn.execute(
            select(func.count()).where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.platform_id == platform_id,
                deliveries.c.state == DeliveryState.FAILED.value,
                deliveries.c.created_at >= since,
            )
        ).scalar_one()
    )
