"""What ingest needs of the delivery controls: filters, pauses, and the filtered count.

Kept apart from ``store.ingest`` (the hot path's own statements): a platform with no
filtered or paused webhook pays one indexed read of its webhooks per ingest batch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, bindparam, or_, select, update

from hookline.domain.controls import Filter, Ordering
from hookline.domain.models import WebhookStatus
from hookline.store.tables import webhooks


@dataclass(frozen=True)
class IngestControls:
    filters: dict[str, Filter] = field(default_factory=dict)
    """The filter of each webhook that has one."""
    paused: dict[str, datetime] = field(default_factory=dict)
    """Webhooks paused by a Retry-After: their new deliveries are due when it ends."""
    fifo: set[str] = field(default_factory=set)
    """FIFO webhooks: their new deliveries wait their turn (``store.ordering``)."""


_CONTROLLED = select(
    webhooks.c.id, webhooks.c.event_filter, webhooks.c.paused_until, webhooks.c.ordering
).where(
    webhooks.c.platform_id == bindparam("platform_id"),
    webhooks.c.status == WebhookStatus.WORKING.value,
    or_(
        webhooks.c.event_filter.is_not(None),
        webhooks.c.paused_until > bindparam("now"),
        webhooks.c.ordering == Ordering.FIFO.value,
    ),
)
"""Built once: ingest runs it per platform and batch (bench/controls_cost.py)."""


def controls_of(conn: Connection, platform_id: str, now: datetime) -> IngestControls:
    """The filters, pauses and FIFO orderings of the platform's working webhooks."""
    rows = conn.execute(_CONTROLLED, {"platform_id": platform_id, "now": now}).all()
    found = IngestControls()
    for r in rows:
        if r.event_filter:
            found.filters[r.id] = {k: tuple(v) for k, v in json.loads(r.event_filter).items()}
        if r.paused_until is not None and r.paused_until > now:
            found.paused[r.id] = r.paused_until
        if r.ordering == Ordering.FIFO.value:
            found.fifo.add(r.id)
    return found


def count_filtered(conn: Connection, counts: Mapping[str, int]) -> None:
    """Add to each webhook's count of events its filter kept out (in the ingest's
    transaction, so the count and the deliveries made agree)."""
    if not counts:
        return
    conn.execute(
        update(webhooks)
        .where(webhooks.c.id == bindparam("b_id"))
        .values(filtered_events=webhooks.c.filtered_events + bindparam("b_n")),
        [{"b_id": w, "b_n": n} for w, n in sorted(counts.items())],
    )
