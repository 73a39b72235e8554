"""FIFO webhooks: one delivery at a time, in the order events came in (issue 16 §1).

A FIFO webhook's deliveries carry ``fifo``; while one waits behind another it has no
due time (``next_attempt_at`` NULL), so the ordinary claim, which walks the due index,
never sees it and pays nothing for it. ``claim_heads`` hands out the next one: for
each FIFO webhook with nothing in flight, its oldest undone delivery (``created_at``,
then id: ingest order, a batch in its own order), if that one is waiting its turn.
A head that failed and waits for its retry has a due time, so the ordinary claim
takes it when due, and everything behind it waits: nothing behind a retrying
delivery goes first.

Several workers: on PostgreSQL each FIFO webhook row is locked (``FOR NO KEY UPDATE
SKIP LOCKED``, which does not block the inserts that reference it) while its head is
leased, so two claims never lease two deliveries of one webhook; SQLite has one
writer. A worker that dies leaves its lease to ``reclaim_expired`` as usual; the
delivery it held stays the head.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Connection,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)

from hookline.domain.controls import Ordering
from hookline.domain.deliveries import DeliveryState
from hookline.domain.models import WebhookStatus
from hookline.store.tables import FIFO_OPEN, deliveries, webhooks

PENDING = DeliveryState.PENDING.value
IN_FLIGHT = DeliveryState.IN_FLIGHT.value
IS_FIFO = webhooks.c.ordering == literal_column(f"'{Ordering.FIFO.value}'")  # ix_webhooks_fifo


# Built once: this runs in every claim, and building a statement costs more than
# running it against an empty partial index (bench/controls_cost.py).
_READY = (
    select(webhooks.c.id)
    .where(
        IS_FIFO,
        webhooks.c.status == WebhookStatus.WORKING.value,
        or_(webhooks.c.paused_until.is_(None), webhooks.c.paused_until <= bindparam("now")),
        ~exists().where(
            deliveries.c.webhook_id == webhooks.c.id,
            deliveries.c.state == literal_column(f"'{IN_FLIGHT}'"),
        ),
    )
    .limit(bindparam("limit"))
)
_READY_LOCKED = _READY.with_for_update(skip_locked=True, key_share=True)
_HEAD = (
    select(deliveries.c.id, deliveries.c.state, deliveries.c.next_attempt_at)
    .where(deliveries.c.webhook_id == bindparam("webhook_id"), text(FIFO_OPEN))
    .order_by(deliveries.c.created_at, deliveries.c.id)
    .limit(1)
)


def claim_heads(
    conn: Connection, *, owner: str, now: datetime, lease_until: datetime, limit: int
) -> list[str]:
    """Lease the waiting head of up to ``limit`` FIFO webhooks; answers their ids."""
    if limit <= 0:
        return []
    ready = _READY_LOCKED if conn.dialect.name == "postgresql" else _READY
    chosen: list[str] = []
    for webhook_id in conn.execute(ready, {"now": now, "limit": limit}).scalars().all():
        head = conn.execute(_HEAD, {"webhook_id": webhook_id}).first()
        if head is not None and head.state == PENDING and head.next_attempt_at is None:
            chosen.append(head.id)
    if chosen:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(chosen))
            .values(
                state=IN_FLIGHT, lease_owner=owner, lease_expires_at=lease_until, updated_at=now
            )
        )
    return chosen


def set_ordering(conn: Connection, webhook_id: str, ordering: str, now: datetime) -> None:
    """A webhook's pending deliveries follow its new ordering: FIFO ones all wait their
    turn (a retry's wait is dropped: the head goes next); others become due now."""
    pending = [deliveries.c.webhook_id == webhook_id, deliveries.c.state == PENDING]
    if ordering == Ordering.FIFO.value:
        conn.execute(update(deliveries).where(*pending).values(fifo=True, next_attempt_at=None))
    else:
        conn.execute(
            update(deliveries)
            .where(*pending, deliveries.c.fifo.is_(True))
            .values(fifo=False, next_attempt_at=func.coalesce(deliveries.c.next_attempt_at, now))
        )


def hold_requeued(conn: Connection, webhook_id: str) -> None:
    """Failed deliveries given another try (recover) wait their turn, if FIFO."""
    conn.execute(
        update(deliveries)
        .where(
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.state == PENDING,
            deliveries.c.fifo.is_(True),
        )
        .values(next_attempt_at=None)
    )
