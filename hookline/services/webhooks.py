"""Marketer use cases: create, list, change, stop, resume, delete webhooks; their secrets.

Every change that could put a platform over its limit of working webhooks runs in one
write transaction that first locks the platform, so two concurrent creates cannot
both take the last place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from hookline.catalog import TOPICS, Topic
from hookline.domain import secrets
from hookline.domain.errors import (
    HooklineError,
    IdempotencyKeyReused,
    InvalidInput,
    WebhookLimitReached,
    WebhookNotFound,
    ZoneExpired,
    ZoneNotPurchased,
)
from hookline.domain.models import (
    CLI_ACTOR,
    MAX_ROTATION_GRACE_SECONDS,
    Actor,
    Platform,
    StopReason,
    Webhook,
    WebhookPage,
    WebhookStatus,
)
from hookline.domain.zones import ZoneValidity, zone_validity
from hookline.services import controls
from hookline.services.context import Context
from hookline.services.paging import decode_cursor, encode_cursor
from hookline.services.platforms import lock_platform, platform_not_found
from hookline.services.validation import (
    FieldErrors,
    clean_name,
    clean_text,
    clean_topics,
    clean_url,
)
from hookline.store import health, ordering
from hookline.store import platforms as platform_store
from hookline.store import webhooks as store

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def _audit(
    conn: Connection, platform_id: str, actor: Actor, action: str, webhook_id: str, now: datetime
) -> None:
    """Every change to a webhook is audited in its own transaction: who, what, when, where."""
    platform_store.record_audit(
        conn, platform_id=platform_id, actor=actor, action=action, target_id=webhook_id, now=now
    )


def _platform(ctx: Context, conn: Connection, platform_id: str) -> Platform:
    lock_platform(ctx, conn, platform_id)
    platform = platform_store.get_platform(conn, platform_id)
    assert platform is not None
    return platform


def webhook_or_404(conn: Connection, platform_id: str, webhook_id: str) -> Webhook:
    webhook = store.get_webhook(conn, platform_id, webhook_id)
    if webhook is None:
        raise WebhookNotFound(f"No webhook has the id '{webhook_id}'.")
    return webhook


def zone_refusal(platform: Platform, topic: str, now: datetime) -> HooklineError | None:
    """Why this platform may not use ``topic`` now, or None when it may."""
    zone = TOPICS[topic].zone
    purchase = platform.zone(zone)
    validity = zone_validity(purchase, now)
    if validity is ZoneValidity.NOT_PURCHASED:
        return ZoneNotPurchased(
            f"Topic '{topic}' belongs to zone {zone}, which this platform has not purchased.",
            zone=zone,
            topic=topic,
        )
    if validity is ZoneValidity.EXPIRED:
        assert purchase is not None
        return ZoneExpired(
            f"Topic '{topic}' belongs to zone {zone}, whose purchase was valid until"
            f" {purchase.valid_until.isoformat()}.",
            zone=zone,
            topic=topic,
            valid_until=purchase.valid_until.isoformat(),
        )
    return None


def check_zones(platform: Platform, topics: Sequence[str], now: datetime) -> None:
    for topic in topics:
        refusal = zone_refusal(platform, topic, now)
        if refusal is not None:
            raise refusal


def topic_availability(ctx: Context, platform_id: str) -> list[tuple[Topic, str | None]]:
    """Every catalog topic with the reason this platform may not use it now (None: it may)."""
    with ctx.db.read() as conn:
        platform = platform_store.get_platform(conn, platform_id)
    if platform is None:
        raise platform_not_found(platform_id)
    now = ctx.clock()
    out = []
    for topic in TOPICS.values():
        refusal = zone_refusal(platform, topic.name, now)
        out.append((topic, refusal.message if refusal else None))
    return out


def _check_limit(conn: Connection, platform: Platform) -> None:
    working = platform_store.count_working_webhooks(conn, platform.id)
    if working >= platform.webhook_limit:
        raise WebhookLimitReached(
            f"This platform already has {working} working webhooks, its limit is"
            f" {platform.webhook_limit}. Stop or delete one, or ask customer support to"
            " raise the limit.",
            limit=platform.webhook_limit,
            working=working,
        )


def _request_hash(
    name: str, url: str, topics: Sequence[str], given: Mapping[str, Any] | None = None
) -> str:
    document: dict[str, Any] = {"name": name, "url": url, "topics": list(topics)}
    if given:  # only when controls were given, so earlier keys keep their hashes
        document["controls"] = dict(given)
    canonical = json.dumps(document, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def create_webhook(
    ctx: Context,
    platform_id: str,
    *,
    name: str,
    url: str,
    topics: Sequence[str],
    idempotency_key: str | None = None,
    given: Mapping[str, Any] | None = None,
    actor: Actor = CLI_ACTOR,
) -> Webhook:
    """``given``: the delivery controls the caller set, by name (``services.controls``)."""
    fields = FieldErrors()
    name = fields.check(clean_name, name)
    url = fields.check(clean_url, ctx, url)
    cleaned_topics = fields.check(clean_topics, topics)
    fields.raise_if_any()
    columns = fields.check(controls.clean, ctx, given or {}, cleaned_topics)
    fields.raise_if_any()
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise InvalidInput.single(
            "Idempotency-Key",
            "invalid_idempotency_key",
            "The Idempotency-Key header must be 1 to 255 characters.",
        )
    if idempotency_key is not None:
        clean_text(idempotency_key, "Idempotency-Key")
    now = ctx.clock()
    with ctx.db.write() as conn:
        platform = _platform(ctx, conn, platform_id)
        if idempotency_key is not None:
            request_hash = _request_hash(name, url, cleaned_topics, given)
            earlier = store.find_idempotent_result(conn, platform_id, idempotency_key)
            if earlier is not None:
                if earlier[0] != request_hash:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was already used for a different request."
                    )
                return webhook_or_404(conn, platform_id, earlier[1])
        check_zones(platform, cleaned_topics, now)
        _check_limit(conn, platform)
        webhook_id = store.insert_webhook(
            conn,
            platform_id=platform_id,
            name=name,
            url=url,
            topics=cleaned_topics,
            now=now,
            controls=columns,
        )
        store.insert_secret(conn, webhook_id, ctx.box.encrypt(secrets.generate_share_secret()), now)
        _audit(conn, platform_id, actor, "webhook.create", webhook_id, now)
        if idempotency_key is not None:
            store.save_idempotent_result(
                conn, platform_id, idempotency_key, request_hash, webhook_id, now
            )
        return webhook_or_404(conn, platform_id, webhook_id)


def get_webhook(ctx: Context, platform_id: str, webhook_id: str) -> Webhook:
    with ctx.db.read() as conn:
        return webhook_or_404(conn, platform_id, webhook_id)


def list_webhooks(
    ctx: Context, platform_id: str, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
) -> WebhookPage:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput.single(
            "limit", "out_of_range", f"limit must be between 1 and {MAX_PAGE_SIZE}."
        )
    after = decode_cursor(cursor, "wh_") if cursor else None
    with ctx.db.read() as conn:
        items = store.list_webhooks(conn, platform_id, after_id=after, limit=limit + 1)
    has_more = len(items) > limit
    items = items[:limit]
    return WebhookPage(items=items, next_cursor=encode_cursor(items[-1].id) if has_more else None)


def update_webhook(
    ctx: Context,
    platform_id: str,
    webhook_id: str,
    *,
    name: str | None = None,
    url: str | None = None,
    topics: Sequence[str] | None = None,
    given: Mapping[str, Any] | None = None,
    actor: Actor = CLI_ACTOR,
) -> Webhook:
    """``given``: the delivery controls to change; one given as ``None`` is reset."""
    fields = FieldErrors()
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = fields.check(clean_name, name)
    if url is not None:
        values["url"] = fields.check(clean_url, ctx, url)
    cleaned_topics = fields.check(clean_topics, topics) if topics is not None else None
    fields.raise_if_any()
    now = ctx.clock()
    with ctx.db.write() as conn:
        platform = _platform(ctx, conn, platform_id)
        webhook = webhook_or_404(conn, platform_id, webhook_id)
        if cleaned_topics is not None and cleaned_topics != webhook.topics:
            check_zones(platform, cleaned_topics, now)
            store.replace_topics(conn, webhook_id, cleaned_topics)
        values.update(controls.changes(ctx, conn, webhook, given or {}, cleaned_topics))
        store.update_webhook(conn, webhook_id, now, **values)
        if values.get("ordering", webhook.ordering.value) != webhook.ordering.value:
            ordering.set_ordering(conn, webhook_id, values["ordering"], now)
        changed = sorted(values) + (["topics"] if cleaned_topics is not None else [])
        _audit(conn, platform_id, actor, "webhook.update:" + ",".join(changed), webhook_id, now)
        return webhook_or_404(conn, platform_id, webhook_id)


def stop_webhook(
    ctx: Context,
    platform_id: str,
    webhook_id: str,
    reason: StopReason = StopReason.BY_USER,
    *,
    actor: Actor = CLI_ACTOR,
) -> Webhook:
    with ctx.db.write() as conn:
        _platform(ctx, conn, platform_id)
        webhook_or_404(conn, platform_id, webhook_id)
        now = ctx.clock()
        health.stop_webhooks(conn, [webhook_id], reason, now)
        _audit(conn, platform_id, actor, "webhook.stop", webhook_id, now)
        return webhook_or_404(conn, platform_id, webhook_id)


def resume_webhook(
    ctx: Context, platform_id: str, webhook_id: str, *, actor: Actor = CLI_ACTOR
) -> Webhook:
    now = ctx.clock()
    with ctx.db.write() as conn:
        platform = _platform(ctx, conn, platform_id)
        webhook = webhook_or_404(conn, platform_id, webhook_id)
        if webhook.is_working:
            return webhook
        check_zones(platform, webhook.topics, now)
        _check_limit(conn, platform)
        store.update_webhook(
            conn, webhook_id, now, status=WebhookStatus.WORKING.value, stop_reason=None
        )
        _audit(conn, platform_id, actor, "webhook.resume", webhook_id, now)
        return webhook_or_404(conn, platform_id, webhook_id)


def delete_webhook(
    ctx: Context, platform_id: str, webhook_id: str, *, actor: Actor = CLI_ACTOR
) -> None:
    """Hide the webhook and stop it; its rows stay so delivery history remains readable."""
    now = ctx.clock()
    with ctx.db.write() as conn:
        _platform(ctx, conn, platform_id)
        webhook_or_404(conn, platform_id, webhook_id)
        health.stop_webhooks(conn, [webhook_id], StopReason.BY_USER, now, delete=True)
        _audit(conn, platform_id, actor, "webhook.delete", webhook_id, now)


def reveal_secret(ctx: Context, platform_id: str, webhook_id: str, actor: Actor) -> str:
    """The current share secret; every reveal is written to the audit log.

    A secret this server's key cannot open raises ``SecretUnreadable`` before anything
    is written: nothing was revealed, so nothing is audited.
    """
    now = ctx.clock()
    with ctx.db.write() as conn:
        webhook_or_404(conn, platform_id, webhook_id)
        ciphertexts = store.active_secret_ciphertexts(conn, webhook_id, now)
        secret = ctx.box.decrypt(ciphertexts[0])
        platform_store.record_audit(
            conn,
            platform_id=platform_id,
            actor=actor,
            action="webhook.secret.reveal",
            target_id=webhook_id,
            now=now,
        )
    return secret


def rotate_secret(
    ctx: Context,
    platform_id: str,
    webhook_id: str,
    actor: Actor,
    *,
    expire_old_after_seconds: int = 0,
) -> str:
    """A new secret; the old ones stop now, or after a grace period (Standard Webhooks only)."""
    if not 0 <= expire_old_after_seconds <= MAX_ROTATION_GRACE_SECONDS:
        raise InvalidInput.single(
            "expire_old_after_seconds",
            "out_of_range",
            "expire_old_after_seconds must be between 0 and"
            f" {MAX_ROTATION_GRACE_SECONDS} (7 days).",
        )
    now = ctx.clock()
    secret = secrets.generate_share_secret()
    with ctx.db.write() as conn:
        _platform(ctx, conn, platform_id)
        webhook_or_404(conn, platform_id, webhook_id)
        store.expire_secrets(conn, webhook_id, now + timedelta(seconds=expire_old_after_seconds))
        store.insert_secret(conn, webhook_id, ctx.box.encrypt(secret), now)
        platform_store.record_audit(
            conn,
            platform_id=platform_id,
            actor=actor,
            action="webhook.secret.rotate",
            target_id=webhook_id,
            now=now,
        )
    return secret


def secret_windows(
    ctx: Context, platform_id: str, webhook_id: str
) -> list[tuple[datetime, datetime | None]]:
    """When each secret that signs now was made and until when it signs (None: no end).

    The first is the current secret; any other is an old one in its grace period after a
    rotation. Only times: the secret panel shows this without revealing anything.
    """
    with ctx.db.read() as conn:
        webhook_or_404(conn, platform_id, webhook_id)
        return store.secret_windows(conn, webhook_id, ctx.clock())


def signing_secrets(ctx: Context, webhook_id: str) -> list[str]:
    """Secrets that sign a delivery now, current first."""
    now = ctx.clock()
    with ctx.db.read() as conn:
        return [ctx.box.decrypt(c) for c in store.active_secret_ciphertexts(conn, webhook_id, now)]
