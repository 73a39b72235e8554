"""A webhook's health over a window, computed by the database: counts and percentiles.

Counts come from ``ix_deliveries_health`` alone: it holds (webhook, last settled or
tried, state, last error) of every delivery but test sends, so a busy webhook's week is
counted without reading a row. Latency percentiles read the attempts of the newest
``LATENCY_SAMPLE`` deliveries in the window: exact for most webhooks, and a bounded
read (not a sort of every attempt of the week) for the busiest.

Callers have checked that the webhook belongs to the platform (webhook ids are unique
across platforms), so these statements filter by webhook only.
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
LATENCY_SAMPLE = 2000
"""Percentiles cover the attempts of at most this many of the window's newest deliveries."""


@dataclass(frozen=True)
class WindowFigures:
    delivered: int
    failed: int
    p50_ms: float | None
    p95_ms: float | None


def _touched(webhook_ids: Sequence[str], since: datetime) -> list[ColumnElement[bool]]:
    """The index's own terms: ``is_test = false`` lets both backends use the partial index."""
    only = deliveries.c.webhook_id
    return [
        only == webhook_ids[0] if len(webhook_ids) == 1 else only.in_(list(webhook_ids)),
        deliveries.c.updated_at >= since,
        deliveries.c.is_test == false(),
    ]


def _failing() -> ColumnElement[bool]:
    return or_(
        deliveries.c.state == DeliveryState.FAILED.value,
        and_(deliveries.c.state.in_(RETRYING), deliveries.c.last_error.is_not(None)),
    )


def window_figures(
    conn: Connection, platform_id: str, webhook_id: str, since: datetime
) -> WindowFigures:
    """Delivered and failed deliveries since ``since``, and the p50/p95 of their attempts.

    "Failed" counts the deliveries that gave up and those still retrying after a failed
    attempt: an endpoint failing for an hour shows it now, not when retries run out.
    """
    del platform_id  # checked by the caller: see the module's docstring
    counts = counts_of(conn, [webhook_id], since).get(webhook_id, (0, 0))
    p50, p95 = _percentiles(conn, webhook_id, since, (0.5, 0.95))
    return WindowFigures(counts[0], counts[1], p50, p95)


def _latencies(webhook_id: str, since: datetime) -> Any:
    newest = (
        select(deliveries.c.id)
        .where(*_touched([webhook_id], since))
        .order_by(deliveries.c.updated_at.desc())
        .limit(LATENCY_SAMPLE)
        .subquery()
    )
    return (
        select(attempts.c.latency_ms)
        .join(newest, newest.c.id == attempts.c.delivery_id)
        .where(attempts.c.started_at >= since)
    )


def _percentiles(
    conn: Connection, webhook_id: str, since: datetime, ranks: Sequence[float]
) -> list[float | None]:
    """Nearest-rank percentiles (``percentile_disc``): the same value on both backends.

    SQLite has no ordered-set aggregates: it counts, then reads each rank's row with
    ``ORDER BY ... LIMIT 1 OFFSET ceil(p*n)-1``, which is what ``percentile_disc`` picks.
    """
    if conn.dialect.name == "postgresql":
        wanted = _latencies(webhook_id, since).subquery()
        row = conn.execute(
            select(*(func.percentile_disc(p).within_group(wanted.c.latency_ms) for p in ranks))
        ).one()
        return [None if v is None else round(float(v), 3) for v in row]
    query = _latencies(webhook_id, since)
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
    conn: Connection, webhook_ids: Sequence[str], since: datetime
) -> dict[str, tuple[int, int]]:
    """``(delivered, failed)`` per webhook since ``since``, in one grouped statement."""
    if not webhook_ids:
        return {}
    rows = conn.execute(
        select(
            deliveries.c.webhook_id,
            func.count(case((deliveries.c.state == DeliveryState.DELIVERED.value, 1))),
            func.count(case((_failing(), 1))),
        )
        .where(*_touched(webhook_ids, since))
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
