"""The claim's second way to find due rows: webhook by webhook.

A claim reads a bounded stretch of the due index, oldest first (``LOOKAHEAD`` rows
per place to fill), and applies the per-webhook cap to what it read. A webhook at its
cap with more due rows than that stretch (a slow receiver's backlog) fills it, and
the other webhooks' due rows lie beyond. The claim then finds them here instead:
each working webhook with room gets its oldest due rows, as many as it has room for,
from ``ix_deliveries_due_by_webhook``. Before, the scan itself left such webhooks out
and so walked every row of their backlog, in every claim of every worker: behind
100,000 of them a PostgreSQL claim took 57-85 ms instead of 12. This costs a descent
per working webhook, whatever the backlog (``bench.capped``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, select

from hookline.domain.deliveries import InFlight
from hookline.domain.models import WebhookStatus
from hookline.store import pg_batches
from hookline.store.tables import deliveries, webhooks

_WORKING = select(webhooks.c.id).where(webhooks.c.status == WebhookStatus.WORKING.value)
_OLDEST = (
    select(deliveries.c.id, deliveries.c.next_attempt_at)
    .where(
        deliveries.c.webhook_id == bindparam("webhook"),
        pg_batches.IS_PENDING,
        deliveries.c.next_attempt_at <= bindparam("now", type_=deliveries.c.next_attempt_at.type),
    )
    .order_by(deliveries.c.next_attempt_at, deliveries.c.id)  # as pg_batches' (why there)
    .limit(bindparam("room", type_=Integer))
)


def claim_postgresql(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    per_webhook_cap: int,
    lookahead: int,
    in_flight: InFlight | None,
) -> tuple[list[Any], pg_batches.Claim]:
    """``pg_batches.claim``, and when it was ``blocked``, its ``by_webhook`` form for
    the places left: the rows leased, oldest due first, and the first claim's look."""

    def claim(places: int, counts: InFlight | None, *, by_webhook: bool) -> pg_batches.Claim:
        return pg_batches.claim(
            conn,
            owner=owner,
            now=now,
            lease_until=lease_until,
            limit=places,
            per_webhook_cap=per_webhook_cap,
            lookahead=lookahead,
            in_flight=counts,
            by_webhook=by_webhook,
        )

    found = claim(limit, in_flight, by_webhook=False)
    if not found.blocked:
        return found.rows, found
    more = claim(limit - len(found.rows), plus(in_flight, found.rows), by_webhook=True)
    rows = sorted([*found.rows, *more.rows], key=lambda r: r.next_attempt_at)
    return rows, found


def plus(in_flight: InFlight | None, rows: Sequence[Any]) -> InFlight | None:
    """The claimer's own loads with ``rows`` (just leased) added: its second claim's."""
    if in_flight is None:
        return None
    mine = Counter(in_flight.mine)
    mine.update(r.webhook_id for r in rows)
    return InFlight(dict(mine), peers_alive_since=in_flight.peers_alive_since)


def sqlite_ids(
    conn: Connection, now: datetime, taken: Counter[str], per_webhook_cap: int, places: int
) -> list[str]:
    """Up to ``places`` due rows of the working webhooks under their cap (``taken``:
    what each has in flight, what this claim leased included), oldest due first; one
    query per webhook, which in-process SQLite answers without a round trip."""
    found: list[tuple[datetime, str]] = []
    for webhook_id in conn.execute(_WORKING).scalars():
        room = min(per_webhook_cap - taken[webhook_id], places)
        if room <= 0:
            continue
        params = {"webhook": webhook_id, "now": now, "room": room}
        found.extend((r.next_attempt_at, r.id) for r in conn.execute(_OLDEST, params))
    return [delivery_id for _, delivery_id in sorted(found)[:places]]
