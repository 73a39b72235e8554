"""The delivery queue: claim due deliveries under a lease, settle them, reclaim, purge.

A claim is one short write transaction. PostgreSQL workers skip each other's rows with
``FOR UPDATE SKIP LOCKED``; SQLite has one writer at a time (``BEGIN IMMEDIATE``), so
its claims simply queue behind each other. A claimed row is ``in_flight`` until its
lease expires; a worker that dies leaves rows that ``reclaim_expired`` puts back, so a
delivery is sent at least once, never lost.

Fairness: a webhook with ``per_webhook_cap`` deliveries already in flight (across all
workers) gets no more until some finish, so a slow or dead endpoint cannot take every
sending slot from the healthy ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, text, update

from hookline.domain.deliveries import DeliveryState, DueDelivery, Settlement
from hookline.domain.models import StopReason, WebhookStatus
from hookline.domain.retry import RetryPolicy
from hookline.store.tables import (
    attempts,
    deliveries,
    events,
    ingest_keys,
    platforms,
    webhooks,
)
from hookline.store.webhooks import active_secret_ciphertexts_of

NOTIFY_CHANNEL = "hookline_deliveries"
LOOKAHEAD = 2  # rows read per place to fill, so saturated webhooks can be skipped
CHUNK = 500  # ids per IN (...) list

PENDING = DeliveryState.PENDING.value
IN_FLIGHT = DeliveryState.IN_FLIGHT.value


def chunks(ids: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    """Slices short enough for an ``IN (...)`` list on either backend."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def in_flight_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        select(deliveries.c.webhook_id, func.count())
        .where(deliveries.c.state == IN_FLIGHT)
        .group_by(deliveries.c.webhook_id)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def claim_due(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    per_webhook_cap: int,
) -> list[DueDelivery]:
    """Lease up to ``limit`` due deliveries, oldest due first, at most the cap per webhook."""
    if limit <= 0:
        return []
    busy = in_flight_counts(conn)
    saturated = [w for w, n in busy.items() if n >= per_webhook_cap]
    query = select(deliveries.c.id, deliveries.c.webhook_id).where(
        deliveries.c.state == PENDING, deliveries.c.next_attempt_at <= now
    )
    if saturated:
        query = query.where(deliveries.c.webhook_id.not_in(saturated))
    query = query.order_by(deliveries.c.next_attempt_at).limit(limit * LOOKAHEAD)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    taken: Counter[str] = Counter(busy)
    chosen: list[str] = []
    for row in conn.execute(query):
        if taken[row.webhook_id] >= per_webhook_cap:
            continue
        taken[row.webhook_id] += 1
        chosen.append(row.id)
        if len(chosen) >= limit:
            break
    for ids in chunks(chosen):
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(ids))
            .values(
                state=IN_FLIGHT, lease_owner=owner, lease_expires_at=lease_until, updated_at=now
            )
        )
    return load_due(conn, chosen, now)


def load_due(conn: Connection, ids: Sequence[str], now: datetime) -> list[DueDelivery]:
    """Deliveries joined with all a send needs: body, URL, retry policy, signing secrets.

    The worker loads the rows it just claimed; a resend loads the one it sends now.
    """
    rows: list[Any] = []
    for chunk in chunks(ids):
        rows.extend(
            conn.execute(
                select(
                    deliveries.c.id,
                    deliveries.c.webhook_id,
                    deliveries.c.idempotency_key,
                    deliveries.c.attempts,
                    events.c.body,
                    webhooks.c.url,
                    platforms.c.retry_policy,
                )
                .join(events, events.c.id == deliveries.c.event_id)
                .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
                .join(platforms, platforms.c.id == deliveries.c.platform_id)
                .where(deliveries.c.id.in_(chunk))
                .order_by(deliveries.c.next_attempt_at)
            ).all()
        )
    secrets = active_secret_ciphertexts_of(conn, sorted({r.webhook_id for r in rows}), now)
    return [
        DueDelivery(
            id=r.id,
            webhook_id=r.webhook_id,
            url=r.url,
            body=bytes(r.body),
            idempotency_key=r.idempotency_key,
            attempts=r.attempts,
            retry_policy=RetryPolicy(r.retry_policy),
            secret_ciphertexts=tuple(secrets.get(r.webhook_id, ())),
        )
        for r in rows
    ]


def settle(
    conn: Connection, settlements: Sequence[Settlement], now: datetime, *, owner: str | None
) -> int:
    """Write attempts and new delivery states; with an ``owner``, only rows it still leases.

    Answers how many delivery rows changed. The attempt is recorded either way: a
    worker whose lease ran out still made that HTTP request.
    """
    if not settlements:
        return 0
    conn.execute(
        insert(attempts),
        [
            {
                "delivery_id": s.delivery_id,
                "number": s.attempt.number,
                "trigger": s.attempt.trigger.value,
                "started_at": s.attempt.started_at,
                "latency_ms": s.attempt.latency_ms,
                "status_code": s.attempt.status_code,
                "error": s.attempt.error,
                "error_detail": s.attempt.error_detail,
                "response_body": s.attempt.response_body,
            }
            for s in settlements
        ],
    )
    final = {DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.CANCELLED}
    statement = (
        update(deliveries)
        .where(deliveries.c.id == bindparam("b_id"))
        .values(
            state=bindparam("b_state"),
            attempts=bindparam("b_attempts"),
            next_attempt_at=bindparam("b_next"),
            lease_owner=None,
            lease_expires_at=None,
            last_status_code=bindparam("b_status"),
            last_error=bindparam("b_error"),
            updated_at=now,
            completed_at=bindparam("b_completed"),
        )
    )
    if owner is not None:
        statement = statement.where(
            deliveries.c.lease_owner == owner, deliveries.c.state == IN_FLIGHT
        )
    result = conn.execute(
        statement,
        [
            {
                "b_id": s.delivery_id,
                "b_state": s.state.value,
                "b_attempts": s.attempt.number,
                "b_next": s.next_attempt_at,
                "b_status": s.attempt.status_code,
                "b_error": s.attempt.error,
                "b_completed": now if s.state in final else None,
            }
            for s in settlements
        ],
    )
    return int(result.rowcount)


def track_health(
    conn: Connection, settlements: Sequence[Settlement], now: datetime, failing_after: datetime
) -> list[str]:
    """Update each webhook's ``failing_since``; answers the webhooks to stop as failing.

    A webhook with any success in the batch is healthy again; one with only failures
    starts (or keeps) its failing period. Stopping is left to the caller.
    """
    ok: set[str] = set()
    bad: set[str] = set()
    for s in settlements:
        (ok if s.state is DeliveryState.DELIVERED else bad).add(s.webhook_id)
    bad -= ok
    if ok:
        conn.execute(
            update(webhooks)
            .where(webhooks.c.id.in_(sorted(ok)), webhooks.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
    if not bad:
        return []
    conn.execute(
        update(webhooks)
        .where(webhooks.c.id.in_(sorted(bad)), webhooks.c.failing_since.is_(None))
        .values(failing_since=now)
    )
    rows = conn.execute(
        select(webhooks.c.id).where(
            webhooks.c.id.in_(sorted(bad)),
            webhooks.c.status == WebhookStatus.WORKING.value,
            webhooks.c.failing_since <= failing_after,
        )
    ).all()
    return [r.id for r in rows]


def stop_webhooks(
    conn: Connection, webhook_ids: Sequence[str], reason: StopReason, now: datetime
) -> None:
    """Stop working webhooks (gone, failing) and cancel what they still had pending."""
    if not webhook_ids:
        return
    conn.execute(
        update(webhooks)
        .where(
            webhooks.c.id.in_(list(webhook_ids)), webhooks.c.status == WebhookStatus.WORKING.value
        )
        .values(status=WebhookStatus.STOPPED.value, stop_reason=reason.value, updated_at=now)
    )
    for webhook_id in webhook_ids:
        cancel_pending(conn, webhook_id, now)


def cancel_for_stopped(conn: Connection, webhook_ids: Sequence[str], now: datetime) -> None:
    """A result written after its webhook stopped must not leave a retry behind."""
    if not webhook_ids:
        return
    rows = conn.execute(
        select(webhooks.c.id).where(
            webhooks.c.id.in_(list(webhook_ids)),
            webhooks.c.status != WebhookStatus.WORKING.value,
        )
    ).all()
    for row in rows:
        cancel_pending(conn, row.id, now)


def cancel_pending(conn: Connection, webhook_id: str, now: datetime) -> int:
    result = conn.execute(
        update(deliveries)
        .where(deliveries.c.webhook_id == webhook_id, deliveries.c.state == PENDING)
        .values(
            state=DeliveryState.CANCELLED.value,
            next_attempt_at=None,
            updated_at=now,
            completed_at=now,
        )
    )
    return int(result.rowcount)


def release(conn: Connection, ids: Sequence[str], owner: str, now: datetime) -> int:
    """Give leased rows back untouched (a worker stopping before it sent them)."""
    count = 0
    for chunk in chunks(ids):
        result = conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(chunk),
                deliveries.c.lease_owner == owner,
                deliveries.c.state == IN_FLIGHT,
            )
            .values(state=PENDING, lease_owner=None, lease_expires_at=None, updated_at=now)
        )
        count += int(result.rowcount)
    return count


def reclaim_expired(conn: Connection, now: datetime) -> int:
    """Put back the rows of workers whose lease ran out (they died or hung)."""
    result = conn.execute(
        update(deliveries)
        .where(deliveries.c.state == IN_FLIGHT, deliveries.c.lease_expires_at < now)
        .values(
            state=PENDING,
            lease_owner=None,
            lease_expires_at=None,
            next_attempt_at=now,
            updated_at=now,
        )
    )
    return int(result.rowcount)


def next_due_at(conn: Connection) -> datetime | None:
    value: datetime | None = conn.execute(
        select(func.min(deliveries.c.next_attempt_at)).where(deliveries.c.state == PENDING)
    ).scalar()
    return value


def notify(conn: Connection) -> None:
    """Wake PostgreSQL workers in other processes when this transaction commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


def purge_before(conn: Connection, cutoff: datetime, *, batch: int = 500) -> int:
    """Delete up to ``batch`` events received before ``cutoff`` with their deliveries."""
    event_ids = [
        r.id
        for r in conn.execute(
            select(events.c.id).where(events.c.received_at < cutoff).limit(batch)
        ).all()
    ]
    if not event_ids:
        return 0
    delivery_ids = select(deliveries.c.id).where(deliveries.c.event_id.in_(event_ids))
    conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(delivery_ids)))
    conn.execute(delete(deliveries).where(deliveries.c.event_id.in_(event_ids)))
    conn.execute(delete(events).where(events.c.id.in_(event_ids)))
    return len(event_ids)


def purge_ingest_keys(conn: Connection, cutoff: datetime) -> int:
    result = conn.execute(delete(ingest_keys).where(ingest_keys.c.created_at < cutoff))
    return int(result.rowcount)
