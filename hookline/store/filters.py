"""What ingest needs of the delivery controls: filters, pauses, and the filtered count.

Ingest reads the controls in the statement that finds each topic's webhooks
(``store.ingest.targets``): a platform with no filtered, paused or FIFO webhook pays
three more columns of the rows it reads anyway, not a statement.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, update

from hookline.domain.controls import Filter, Ordering
from hookline.store.tables import webhooks


@dataclass(frozen=True)
class IngestControls:
    filters: dict[str, Filter] = field(default_factory=dict)
    """The filter of each webhook that has one."""
    paused: dict[str, datetime] = field(default_factory=dict)
    """Webhooks paused by a Retry-After: their new deliveries are due when it ends."""
    fifo: set[str] = field(default_factory=set)
    """FIFO webhooks: their new deliveries wait their turn (``store.ordering``)."""


def note_controls(found: IngestControls, row: Any, now: datetime) -> None:
    """Add one working webhook's controls (``row``: its ``id``, ``event_filter``,
    ``paused_until`` and ``ordering``), read beside its topics (``store.ingest.targets``)."""
    if row.event_filter:
        found.filters[row.id] = {k: tuple(v) for k, v in json.loads(row.event_filter).items()}
    if row.paused_until is not None and row.paused_until > now:
        found.paused[row.id] = row.paused_until
    if row.ordering == Ordering.FIFO.value:
        found.fifo.add(row.id)


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
