"""The platform-wide event log: events newest first, filtered, with their deliveries.

Pages walk ``ix_events_platform_id_received_at`` backwards and stop after ``limit``
rows. A search term is first turned into the few event ids it can name (an event id,
a producer id, a delivery's idempotency key: three indexed lookups), so a search never
scans the platform's history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, not_, or_, select

from hookline.domain.deliveries import Delivery, DeliveryState, Event
from hookline.domain.outcomes import UNSETTLED, EventOutcome
from hookline.store.delivery_log import _to_delivery
from hookline.store.tables import deliveries, events, webhooks

MAX_MATCHES = 500


@dataclass(frozen=True)
class EventFilter:
    topic: str | None = None
    outcome: EventOutcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None


def _matching_ids(conn: Connection, platform_id: str, q: str) -> list[str]:
    by_producer = select(events.c.id).where(
        events.c.platform_id == platform_id, events.c.producer_id == q
    )
    by_key = select(deliveries.c.event_id).where(
        deliveries.c.idempotency_key == q, deliveries.c.platform_id == platform_id
    )
    found = {q}
    for query in (by_producer, by_key):
        found.update(conn.execute(query.limit(MAX_MATCHES)).scalars())
    return sorted(found)


def _outcome_clause(outcome: EventOutcome) -> Any:
    def any_in(*states: DeliveryState) -> Any:
        return exists().where(
            deliveries.c.event_id == events.c.id, deliveries.c.state.in_([s.value for s in states])
        )

    if outcome is EventOutcome.FAILED:
        return any_in(DeliveryState.FAILED)
    if outcome is EventOutcome.PENDING:
        return and_(any_in(*UNSETTLED), not_(any_in(DeliveryState.FAILED)))
    if outcome is EventOutcome.UNROUTED:
        return not_(exists().where(deliveries.c.event_id == events.c.id))
    return and_(
        exists().where(deliveries.c.event_id == events.c.id),
        not_(any_in(DeliveryState.FAILED, *UNSETTLED)),
    )


def search_events(
    conn: Connection,
    platform_id: str,
    wanted: EventFilter,
    *,
    before_id: str | None,
    limit: int,
) -> list[Event]:
    """Newest first by ``(received_at, id)``; ``before_id`` continues after that event."""
    query = select(events).where(events.c.platform_id == platform_id)
    if wanted.q is not None:
        query = query.where(events.c.id.in_(_matching_ids(conn, platform_id, wanted.q)))
    if wanted.topic:
        query = query.where(events.c.topic == wanted.topic)
    if wanted.since:
        query = query.where(events.c.received_at >= wanted.since)
    if wanted.until:
        query = query.where(events.c.received_at < wanted.until)
    if wanted.outcome is not None:
        query = query.where(_outcome_clause(wanted.outcome))
    if before_id:
        boundary = conn.execute(
            select(events.c.received_at).where(
                events.c.id == before_id, events.c.platform_id == platform_id
            )
        ).scalar()
        if boundary is None:
            return []
        query = query.where(
            events.c.received_at <= boundary,
            or_(events.c.received_at < boundary, events.c.id < before_id),
        )
    order = (events.c.received_at.desc(), events.c.id.desc())
    rows = conn.execute(query.order_by(*order).limit(limit)).all()
    found = _deliveries_of(conn, platform_id, [r.id for r in rows])
    return [
        Event(
            id=r.id,
            platform_id=r.platform_id,
            topic=r.topic,
            producer_id=r.producer_id,
            body=b"",  # a log page shows no bodies; get_event has them
            occurred_at=r.occurred_at,
            received_at=r.received_at,
            is_test=bool(r.is_test),
            deliveries=tuple(found.get(r.id, ())),
        )
        for r in rows
    ]


def _deliveries_of(
    conn: Connection, platform_id: str, event_ids: Sequence[str]
) -> dict[str, list[Delivery]]:
    found: dict[str, list[Delivery]] = defaultdict(list)
    if event_ids:
        rows = conn.execute(
            select(deliveries)
            .where(
                deliveries.c.event_id.in_(list(event_ids)), deliveries.c.platform_id == platform_id
            )
            .order_by(deliveries.c.id)
        ).all()
        for row in rows:
            found[row.event_id].append(_to_delivery(row))
    return found


def webhook_names(conn: Connection, platform_id: str, ids: Sequence[str]) -> dict[str, str]:
    """Names of the platform's webhooks, deleted ones too: old deliveries still name them."""
    if not ids:
        return {}
    rows = conn.execute(
        select(webhooks.c.id, webhooks.c.name).where(
            webhooks.c.id.in_(list(ids)), webhooks.c.platform_id == platform_id
        )
    ).all()
    return {r.id: r.name for r in rows}
