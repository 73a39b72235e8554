"""Webhook health: the failing period each webhook is in, and stopping webhooks.

Which webhooks stop, and why, is decided in ``domain.settlement``; this module only
records it. Stopping always cancels what the webhook still had pending, so nothing is
sent after a stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from hookline.domain.deliveries import DeliveryState
from hookline.domain.models import StopReason, WebhookStatus
from hookline.store.tables import deliveries, webhooks

WORKING = WebhookStatus.WORKING.value


_END_FAILING = (  # built once: every settle runs it
    update(webhooks)
    .where(
        webhooks.c.id.in_(bindparam("ids", expanding=True)), webhooks.c.failing_since.is_not(None)
    )
    .values(failing_since=None)
)


def end_failing(conn: Connection, webhook_ids: Sequence[str]) -> None:
    """These webhooks delivered: whatever failing period they were in is over."""
    if webhook_ids:
        conn.execute(_END_FAILING, {"ids": list(webhook_ids)})


def continue_failing(
    conn: Connection, webhook_ids: Sequence[str], now: datetime
) -> dict[str, datetime]:
    """Start (or go on with) these webhooks' failing period; answers each working one's start."""
    if not webhook_ids:
        return {}
    conn.execute(
        update(webhooks)
        .where(webhooks.c.id.in_(list(webhook_ids)), webhooks.c.failing_since.is_(None))
        .values(failing_since=now)
    )
    rows = conn.execute(
        select(webhooks.c.id, webhooks.c.failing_since).where(
            webhooks.c.id.in_(list(webhook_ids)), webhooks.c.status == WORKING
        )
    ).all()
    return {r.id: r.failing_since for r in rows if r.failing_since is not None}


def stop_webhooks(
    conn: Connection,
    webhook_ids: Sequence[str],
    reason: StopReason,
    now: datetime,
    *,
    delete: bool = False,
) -> None:
    """Stop webhooks and cancel what they still had pending; ``delete`` also hides them.

    The engine's reasons (gone, failing) only stop working webhooks, so a webhook its
    user stopped keeps that reason; a user's own stop (or delete) always applies.
    """
    if not webhook_ids:
        return
    statement = update(webhooks).where(webhooks.c.id.in_(list(webhook_ids)))
    if reason is not StopReason.BY_USER:
        statement = statement.where(webhooks.c.status == WORKING)
    values: dict[str, object] = {
        "status": WebhookStatus.STOPPED.value,
        "stop_reason": reason.value,
        "updated_at": now,
    }
    if delete:
        values["deleted_at"] = now
    conn.execute(statement.values(**values))
    for webhook_id in webhook_ids:
        cancel_pending(conn, webhook_id, now)


def cancel_for_stopped(conn: Connection, webhook_ids: Sequence[str], now: datetime) -> int:
    """A row put back after its webhook stopped must not stay pending; answers how many."""
    if not webhook_ids:
        return 0
    rows = conn.execute(
        select(webhooks.c.id).where(
            webhooks.c.id.in_(list(webhook_ids)), webhooks.c.status != WORKING
        )
    ).all()
    return sum(cancel_pending(conn, row.id, now) for row in rows)


def cancel_pending(conn: Connection, webhook_id: str, now: datetime) -> int:
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.state == DeliveryState.PENDING.value,
        )
        .values(
            state=DeliveryState.CANCELLED.value,
            next_attempt_at=None,
            updated_at=now,
            completed_at=now,
        )
    )
    return int(result.rowcount)
