"""Delivery rows as queue entries: claim under a lease, release, reclaim, requeue.

What a leased delivery's attempt did is written by ``settles``.

A claim runs inside one short write transaction (``DeliveryQueue`` opens it).
PostgreSQL workers skip each other's rows with ``FOR UPDATE SKIP LOCKED``; SQLite has
one writer at a time (``BEGIN IMMEDIATE``), so its claims simply queue behind each
other. A claimed row is ``in_flight`` until its lease expires; a worker that dies
leaves rows that ``reclaim_expired`` puts back, so a delivery is sent at least once,
never lost.

Fairness: a webhook with ``per_webhook_cap`` deliveries already in flight (across all
workers) gets no more until some finish, so a slow or dead endpoint cannot take every
sending slot from the healthy ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    bindparam,
    exists,
    func,
    select,
    true,
    update,
)

from hookline.domain.deliveries import DeliveryState, DueDelivery, InFlight
from hookline.domain.models import WebhookStatus
from hookline.domain.retry import RetryPolicy
from hookline.domain.settlement import unknown_outcome
from hookline.store import due_by_webhook, health, pg_batches, settles
from hookline.store.db import chunks
from hookline.store.tables import deliveries, events, platforms, webhooks
from hookline.store.webhooks import RETRY_POLICY, active_secret_ciphertexts_of
from hookline.store.workers import bury, lease_void

LOOKAHEAD = 2  # rows read per place to fill, so saturated webhooks can be skipped
PENDING = DeliveryState.PENDING.value
IN_FLIGHT = DeliveryState.IN_FLIGHT.value
WORKING = WebhookStatus.WORKING.value
IS_PENDING = pg_batches.IS_PENDING  # its literal state, so partial indexes stay usable
IS_IN_FLIGHT = pg_batches.IS_IN_FLIGHT


_IN_FLIGHT_COUNTS = (
    select(deliveries.c.webhook_id, func.count())
    .where(IS_IN_FLIGHT)
    .group_by(deliveries.c.webhook_id)
)


def in_flight_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(_IN_FLIGHT_COUNTS).all()
    return {r[0]: int(r[1]) for r in rows}


@dataclass(frozen=True)
class Claimed:
    """A claim's leases, and what it learnt of the rest of the queue on the way."""

    leased: list[DueDelivery]
    fifo_webhooks: bool = True
    """Some working webhook may be FIFO: ``ordering.claim_heads`` must look."""
    next_due_at: datetime | None = None
    next_due_known: bool = False
    """``next_due_at`` is the queue's next due time (nothing was leased)."""


def claim(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    per_webhook_cap: int,
    in_flight: InFlight | None = None,
) -> Claimed:
    """Lease up to ``limit`` due deliveries, oldest due first, at most the cap per
    webhook. On PostgreSQL one statement that also says whether any webhook is
    FIFO and, if it leased nothing, when the next delivery is due (``pg_batches.claim``):
    two statements fewer in a worker's round, three in an idle one. ``in_flight``: the
    claimer's own in-flight counts, so a PostgreSQL claim reads the workers' loads
    rather than the deliveries in flight (``domain.deliveries.InFlight``); SQLite, with
    no dead row versions to wade through, counts the deliveries either way."""
    if limit <= 0:
        return Claimed([])
    if conn.dialect.name == "postgresql":
        rows, found = due_by_webhook.claim_postgresql(
            conn,
            owner=owner,
            now=now,
            lease_until=lease_until,
            limit=limit,
            per_webhook_cap=per_webhook_cap,
            lookahead=LOOKAHEAD,
            in_flight=in_flight,
        )
        leased = [_due_delivery(r, r.secrets or ()) for r in rows]
        return Claimed(leased, found.fifo_webhooks, found.next_due_at, next_due_known=not leased)
    return Claimed(_claim_sqlite(conn, owner, now, lease_until, limit, per_webhook_cap))


def _claim_sqlite(
    conn: Connection,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    per_webhook_cap: int,
) -> list[DueDelivery]:
    """As PostgreSQL's claim: a bounded stretch of the due index with the cap applied
    to it, and webhook by webhook when webhooks at their cap filled that stretch
    (``due_by_webhook``)."""
    taken: Counter[str] = Counter(in_flight_counts(conn))
    take = limit * LOOKAHEAD
    rows = conn.execute(_DUE, {"now": now, "take": take}).all()
    chosen: list[str] = []
    for row in rows:
        if taken[row.webhook_id] >= per_webhook_cap:
            continue
        taken[row.webhook_id] += 1
        chosen.append(row.id)
        if len(chosen) >= limit:
            break
    lease = {"owner": owner, "lease_until": lease_until, "now": now}
    _lease(conn, chosen, lease)
    if len(rows) >= take and len(chosen) < limit:
        more = due_by_webhook.sqlite_ids(conn, now, taken, per_webhook_cap, limit - len(chosen))
        _lease(conn, more, lease)
        chosen += more
    return load_due(conn, chosen, now)


def _lease(conn: Connection, ids: list[str], lease: dict[str, Any]) -> None:
    for chunk in chunks(ids):
        conn.execute(_LEASE, {"ids": list(chunk), **lease})


_DUE = (
    select(deliveries.c.id, deliveries.c.webhook_id)
    .where(
        IS_PENDING,
        deliveries.c.next_attempt_at <= bindparam("now", type_=deliveries.c.next_attempt_at.type),
        # a stopped or deleted webhook sends nothing, whatever row slipped back to pending.
        # IS TRUE keeps PostgreSQL from turning EXISTS into a join driven by webhooks,
        # which read every row of each webhook (history included) and sorted the due
        # ones: 22-42 ms at 30,000 rows, growing with history. As a filter (one hashed
        # set of working webhooks) the due index is walked in order and stops at LIMIT:
        # 0.65 ms.
        exists()
        .where(webhooks.c.id == deliveries.c.webhook_id, webhooks.c.status == WORKING)
        .is_(true()),
    )
    .order_by(deliveries.c.next_attempt_at)
    .limit(bindparam("take", type_=Integer))
)
"""Due deliveries (id, webhook), oldest due first: the stretch a SQLite claim reads."""

# Built once: a claim round runs these many times a second, and building a statement
# (not compiling it: SQLAlchemy caches that) cost more Python than running it.
_LOAD_DUE = (
    select(*pg_batches.DUE_COLUMNS)
    .join(events, events.c.id == deliveries.c.event_id)
    .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
    .join(platforms, platforms.c.id == deliveries.c.platform_id)
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(deliveries.c.next_attempt_at)
)
_LEASE = (
    update(deliveries)
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        state=IN_FLIGHT,
        lease_owner=bindparam("owner"),
        lease_expires_at=bindparam("lease_until"),
        updated_at=bindparam("now"),
    )
)


def load_due(conn: Connection, ids: Sequence[str], now: datetime) -> list[DueDelivery]:
    """Deliveries joined with all a send needs: body, URL, retry policy, signing secrets.

    The worker loads the rows it just claimed; a resend loads the one it sends now.
    """
    rows: list[Any] = []
    for chunk in chunks(ids):
        rows.extend(conn.execute(_LOAD_DUE, {"ids": list(chunk)}).all())
    return _due_deliveries(conn, rows, now)


def _due_deliveries(conn: Connection, rows: Sequence[Any], now: datetime) -> list[DueDelivery]:
    secrets = active_secret_ciphertexts_of(conn, sorted({r.webhook_id for r in rows}), now)
    return [_due_delivery(r, secrets.get(r.webhook_id, ())) for r in rows]


def _due_delivery(r: Any, secrets: Sequence[str]) -> DueDelivery:
    """A row of ``DUE_COLUMNS`` and its webhook's secrets, as the sender takes them."""
    return DueDelivery(
        id=r.id,
        webhook_id=r.webhook_id,
        url=r.url,
        body=bytes(r.body),
        idempotency_key=r.idempotency_key,
        attempts=r.attempts,
        retry_policy=RetryPolicy(r.retry_policy),
        secret_ciphertexts=tuple(secrets),
        headers_sealed=r.headers_sealed,
        timeout_seconds=r.timeout_seconds,
        rate_limit_per_second=r.rate_limit_per_second,
    )


def release(conn: Connection, ids: Sequence[str], owner: str, now: datetime) -> int:
    """Give leased rows back untouched (a worker stopping before it sent them).

    A row whose webhook stopped meanwhile is cancelled instead of left pending.
    """
    count = 0
    hooks: set[str] = set()
    for chunk in chunks(ids):
        hooks.update(
            conn.execute(
                select(deliveries.c.webhook_id).where(deliveries.c.id.in_(chunk)).distinct()
            ).scalars()
        )
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
    health.cancel_for_stopped(conn, sorted(hooks), now)
    return count


def reclaim_expired(
    conn: Connection,
    now: datetime,
    *,
    dead_before: datetime | None = None,
    alive: str | None = None,
) -> int:
    """Put back the rows of workers whose lease ran out, or whose heartbeat stopped.

    ``dead_before``: a worker whose last heartbeat is older is dead, its leases void
    at once. Whether the request was made is unknown: each reclaimed row gets an
    ``outcome_unknown`` attempt that counts against its retry schedule (a receiver
    that kills workers cannot loop for ever), and is due again now.
    """
    lapsed = lease_void(
        deliveries.c.lease_owner,
        deliveries.c.lease_expires_at,
        now,
        dead_before=dead_before,
        alive=alive,
    )
    query = (
        select(
            deliveries.c.id,
            deliveries.c.webhook_id,
            deliveries.c.attempts,
            deliveries.c.lease_owner,
            RETRY_POLICY,
        )
        .join(platforms, platforms.c.id == deliveries.c.platform_id)
        .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
        .where(IS_IN_FLIGHT, lapsed)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=deliveries)
    rows = conn.execute(query).all()
    settlements = [
        unknown_outcome(
            delivery_id=r.id,
            webhook_id=r.webhook_id,
            owner=r.lease_owner or "",
            attempts_before=r.attempts,
            policy=RetryPolicy(r.retry_policy),
            now=now,
        )
        for r in rows
    ]
    settles.write_settlements(conn, settlements, now, owner=None)
    health.cancel_for_stopped(conn, sorted({r.webhook_id for r in rows}), now)
    if dead_before is not None:
        bury(conn, dead_before, alive=alive)
    return len(rows)


def lease_one(
    conn: Connection, delivery_id: str, *, owner: str, now: datetime, lease_until: datetime
) -> Any | None:
    """Lease one delivery unless it is in flight; answers the row as it was, else ``None``.

    The row is read locked (PostgreSQL ``FOR UPDATE``; SQLite holds the write lock), so
    nothing can claim it between the read and the lease.
    """
    query = select(deliveries.c.state, deliveries.c.attempts, deliveries.c.next_attempt_at).where(
        deliveries.c.id == delivery_id
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None or row.state == IN_FLIGHT:
        return None
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(state=IN_FLIGHT, lease_owner=owner, lease_expires_at=lease_until, updated_at=now)
    )
    return row


def next_due_at(conn: Connection) -> datetime | None:
    value: datetime | None = conn.execute(
        select(func.min(deliveries.c.next_attempt_at)).where(IS_PENDING)
    ).scalar()
    return value


def requeue_failed(
    conn: Connection, webhook_id: str, since: datetime, until: datetime | None, now: datetime
) -> int:
    """Failed deliveries created in [since, until) get one more try, now."""
    window = [deliveries.c.created_at >= since]
    if until is not None:
        window.append(deliveries.c.created_at < until)
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.state == DeliveryState.FAILED.value,
            *window,
        )
        .values(
            state=DeliveryState.PENDING.value,
            next_attempt_at=now,
            completed_at=None,
            updated_at=now,
        )
    )
    return int(result.rowcount)
