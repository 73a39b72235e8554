"""Queries for webhooks, their topics, their share secrets and create idempotency."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update

from hookline.domain.controls import Ordering
from hookline.domain.ids import new_id
from hookline.domain.models import StopReason, Webhook, WebhookStatus
from hookline.domain.retry import RetryPolicy
from hookline.store.tables import (
    idempotency_keys,
    platforms,
    webhook_secrets,
    webhook_topics,
    webhooks,
)

RETRY_POLICY = func.coalesce(webhooks.c.retry_policy, platforms.c.retry_policy).label(
    "retry_policy"
)
"""The retry policy a delivery follows: its webhook's, else its platform's (claims join both)."""


def insert_webhook(
    conn: Connection,
    *,
    platform_id: str,
    name: str,
    url: str,
    topics: Sequence[str],
    now: datetime,
    controls: Mapping[str, Any] | None = None,
) -> str:
    """``controls``: column values of the delivery controls (``services.controls``)."""
    webhook_id = new_id("wh")
    conn.execute(
        insert(webhooks).values(
            id=webhook_id,
            platform_id=platform_id,
            name=name,
            url=url,
            status=WebhookStatus.WORKING.value,
            stop_reason=None,
            created_at=now,
            updated_at=now,
            **(controls or {}),
        )
    )
    replace_topics(conn, webhook_id, topics)
    return webhook_id


def replace_topics(conn: Connection, webhook_id: str, topics: Sequence[str]) -> None:
    conn.execute(delete(webhook_topics).where(webhook_topics.c.webhook_id == webhook_id))
    conn.execute(
        insert(webhook_topics),
        [{"webhook_id": webhook_id, "topic": t, "position": i} for i, t in enumerate(topics)],
    )


def _topics_of(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = defaultdict(list)
    if ids:
        rows = conn.execute(
            select(webhook_topics.c.webhook_id, webhook_topics.c.topic)
            .where(webhook_topics.c.webhook_id.in_(ids))
            .order_by(webhook_topics.c.webhook_id, webhook_topics.c.position)
        ).all()
        for row in rows:
            found[row.webhook_id].append(row.topic)
    return {k: tuple(v) for k, v in found.items()}


def _to_webhook(row: Any, topics: tuple[str, ...]) -> Webhook:
    flt = json.loads(row.event_filter) if row.event_filter else None
    return Webhook(
        header_names=tuple(json.loads(row.header_names)) if row.header_names else (),
        timeout_seconds=row.timeout_seconds,
        retry_policy=RetryPolicy(row.retry_policy) if row.retry_policy else None,
        event_filter={k: tuple(v) for k, v in flt.items()} if flt else None,
        filtered_events=row.filtered_events,
        ordering=Ordering(row.ordering),
        rate_limit_per_second=row.rate_limit_per_second,
        paused_until=row.paused_until,
        id=row.id,
        platform_id=row.platform_id,
        name=row.name,
        url=row.url,
        topics=topics,
        status=WebhookStatus(row.status),
        stop_reason=StopReason(row.stop_reason) if row.stop_reason else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get_webhook(conn: Connection, platform_id: str, webhook_id: str) -> Webhook | None:
    """A live webhook of this platform; another platform's id is simply not found."""
    row = conn.execute(
        select(webhooks).where(
            webhooks.c.id == webhook_id,
            webhooks.c.platform_id == platform_id,
            webhooks.c.deleted_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    return _to_webhook(row, _topics_of(conn, [row.id]).get(row.id, ()))


def list_webhooks(
    conn: Connection, platform_id: str, *, after_id: str | None, limit: int
) -> list[Webhook]:
    query = (
        select(webhooks)
        .where(webhooks.c.platform_id == platform_id, webhooks.c.deleted_at.is_(None))
        .order_by(webhooks.c.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(webhooks.c.id > after_id)
    rows = conn.execute(query).all()
    topics = _topics_of(conn, [r.id for r in rows])
    return [_to_webhook(r, topics.get(r.id, ())) for r in rows]


def update_webhook(conn: Connection, webhook_id: str, now: datetime, **values: Any) -> None:
    conn.execute(
        update(webhooks).where(webhooks.c.id == webhook_id).values(updated_at=now, **values)
    )


def sealed_headers(conn: Connection, webhook_id: str) -> str | None:
    """The webhook's extra headers, still sealed (a change that keeps masked values)."""
    value: str | None = conn.execute(
        select(webhooks.c.headers_sealed).where(webhooks.c.id == webhook_id)
    ).scalar()
    return value


def insert_secret(conn: Connection, webhook_id: str, ciphertext: str, now: datetime) -> None:
    conn.execute(
        insert(webhook_secrets).values(
            id=new_id("sec"), webhook_id=webhook_id, ciphertext=ciphertext, created_at=now
        )
    )


def expire_secrets(conn: Connection, webhook_id: str, expires_at: datetime) -> None:
    """End every secret still valid at ``expires_at`` no later than that moment."""
    conn.execute(
        update(webhook_secrets)
        .where(
            webhook_secrets.c.webhook_id == webhook_id,
            or_(
                webhook_secrets.c.expires_at.is_(None),
                webhook_secrets.c.expires_at > expires_at,
            ),
        )
        .values(expires_at=expires_at)
    )


def active_secret_ciphertexts(conn: Connection, webhook_id: str, now: datetime) -> list[str]:
    """Secrets that still sign, newest first: the current one, then any in grace."""
    return active_secret_ciphertexts_of(conn, [webhook_id], now).get(webhook_id, [])


_ACTIVE_SECRETS = select(  # built once: every claim round runs it
    webhook_secrets.c.webhook_id,
    webhook_secrets.c.ciphertext,
    webhook_secrets.c.expires_at,
).where(
    webhook_secrets.c.webhook_id.in_(bindparam("ids", expanding=True)),
    or_(webhook_secrets.c.expires_at.is_(None), webhook_secrets.c.expires_at > bindparam("now")),
)


def active_secret_ciphertexts_of(
    conn: Connection, webhook_ids: Sequence[str], now: datetime
) -> dict[str, list[str]]:
    """``active_secret_ciphertexts`` for many webhooks in one query (a worker's claim)."""
    found: dict[str, list[tuple[int, float, str]]] = defaultdict(list)
    if webhook_ids:
        rows = conn.execute(_ACTIVE_SECRETS, {"ids": list(webhook_ids), "now": now}).all()
        for r in rows:
            # the current secret (no expiry) first, then the later-expiring ones
            rank = (0, 0.0) if r.expires_at is None else (1, -r.expires_at.timestamp())
            found[r.webhook_id].append((*rank, r.ciphertext))
    return {w: [c for *_, c in sorted(items)] for w, items in found.items()}


def secret_windows(
    conn: Connection, webhook_id: str, now: datetime
) -> list[tuple[datetime, datetime | None]]:
    """``(created_at, expires_at)`` of each secret signing now, current first; no ciphertext."""
    rows = conn.execute(
        select(webhook_secrets.c.created_at, webhook_secrets.c.expires_at).where(
            webhook_secrets.c.webhook_id == webhook_id,
            or_(webhook_secrets.c.expires_at.is_(None), webhook_secrets.c.expires_at > now),
        )
    ).all()
    ranked = sorted(
        rows, key=lambda r: (r.expires_at is not None, -(r.expires_at or now).timestamp())
    )
    return [(r.created_at, r.expires_at) for r in ranked]


def find_idempotent_result(conn: Connection, platform_id: str, key: str) -> tuple[str, str] | None:
    row = conn.execute(
        select(idempotency_keys.c.request_hash, idempotency_keys.c.result_id).where(
            idempotency_keys.c.platform_id == platform_id, idempotency_keys.c.key == key
        )
    ).first()
    return None if row is None else (row.request_hash, row.result_id)


def save_idempotent_result(
    conn: Connection, platform_id: str, key: str, request_hash: str, result_id: str, now: datetime
) -> None:
    conn.execute(
        insert(idempotency_keys).values(
            platform_id=platform_id,
            key=key,
            request_hash=request_hash,
            result_id=result_id,
            created_at=now,
        )
    )
