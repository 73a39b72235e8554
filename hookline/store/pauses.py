"""A receiver's ``Retry-After`` (on 429 or 503) holds every delivery of its webhook.

The delivery that got the answer is rescheduled by the retry rule
(``domain.retry.next_delay``); this holds the webhook's other pending deliveries too,
by moving their due time to the end of the pause, and records the pause on the webhook
so ingest makes new deliveries due then (``store.filters.controls_of``). Moving due
times rather than filtering the claim keeps the claim statement and the worker's
"next due" wait exact: no worker polls for rows it may not take.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, or_, update

from hookline.domain.deliveries import DeliveryState, Settlement
from hookline.store.tables import deliveries, webhooks


def pause_from(conn: Connection, settlements: Sequence[Settlement]) -> None:
    """Pause each webhook a settlement asks to, until the latest time asked."""
    until: dict[str, datetime] = {}
    for s in settlements:
        if s.pause_until is not None:
            until[s.webhook_id] = max(until.get(s.webhook_id, s.pause_until), s.pause_until)
    for webhook_id, end in sorted(until.items()):
        conn.execute(
            update(webhooks)
            .where(
                webhooks.c.id == webhook_id,
                or_(webhooks.c.paused_until.is_(None), webhooks.c.paused_until < end),
            )
            .values(paused_until=end)
        )
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.state == DeliveryState.PENDING.value,
                deliveries.c.next_attempt_at < end,
            )
            .values(next_attempt_at=end)
        )
