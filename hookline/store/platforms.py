"""Queries for platforms, their zone purchases, API tokens and the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from hookline.domain.ids import new_id
from hookline.domain.models import Actor, ApiToken, Platform, WebhookStatus, ZonePurchase
from hookline.domain.retry import RetryPolicy
from hookline.store.tables import api_tokens, audit_log, platform_zones, platforms, webhooks


def insert_platform(
    conn: Connection, *, name: str, timezone: str, webhook_limit: int, now: datetime
) -> str:
    platform_id = new_id("pf")
    conn.execute(
        insert(platforms).values(
            id=platform_id,
            name=name,
            timezone=timezone,
            webhook_limit=webhook_limit,
            created_at=now,
            updated_at=now,
        )
    )
    return platform_id


def _platform(row: Any, zones: Iterable[ZonePurchase]) -> Platform:
    return Platform(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        webhook_limit=row.webhook_limit,
        created_at=row.created_at,
        updated_at=row.updated_at,
        zones=tuple(zones),
        retry_policy=RetryPolicy(row.retry_policy),
    )


def lock_platform(conn: Connection, platform_id: str) -> bool:
    """Serialise writers of one platform; answers whether the platform exists.

    SQLite writers are serialised already (``BEGIN IMMEDIATE``); PostgreSQL's row lock
    lasts until the transaction ends.
    """
    query = select(platforms.c.id).where(platforms.c.id == platform_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first() is not None


# Built once, one statement: every ingest batch reads its platforms with it, and the
# platform and its zones as two statements built per call were a quarter of a
# one-event ingest's own CPU (docs/benchmarks.md).
_PLATFORM_WITH_ZONES = (
    select(
        platforms,
        platform_zones.c.zone.label("zone_number"),
        platform_zones.c.valid_until.label("zone_valid_until"),
    )
    .select_from(
        platforms.outerjoin(platform_zones, platform_zones.c.platform_id == platforms.c.id)
    )
    .where(platforms.c.id == bindparam("platform_id"))
    .order_by(platform_zones.c.zone)
)


def get_platform(conn: Connection, platform_id: str) -> Platform | None:
    """The platform and its zone purchases (one row per zone; one with none if none)."""
    rows = conn.execute(_PLATFORM_WITH_ZONES, {"platform_id": platform_id}).all()
    if not rows:
        return None
    zones = (
        ZonePurchase(zone=r.zone_number, valid_until=r.zone_valid_until)
        for r in rows
        if r.zone_number is not None
    )
    return _platform(rows[0], zones)


def list_platforms(conn: Connection) -> list[Platform]:
    """Every platform by name, with its zones (two queries, whatever the count)."""
    zones: dict[str, list[ZonePurchase]] = {}
    for z in conn.execute(
        select(
            platform_zones.c.platform_id, platform_zones.c.zone, platform_zones.c.valid_until
        ).order_by(platform_zones.c.zone)
    ).all():
        zones.setdefault(z.platform_id, []).append(
            ZonePurchase(zone=z.zone, valid_until=z.valid_until)
        )
    rows = conn.execute(select(platforms).order_by(platforms.c.name, platforms.c.id)).all()
    return [_platform(row, zones.get(row.id, ())) for row in rows]


def count_working_webhooks_by_platform(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        select(webhooks.c.platform_id, func.count())
        .where(webhooks.c.status == WebhookStatus.WORKING.value, webhooks.c.deleted_at.is_(None))
        .group_by(webhooks.c.platform_id)
    ).all()
    return {platform_id: int(count) for platform_id, count in rows}


def update_platform(conn: Connection, platform_id: str, now: datetime, **values: object) -> None:
    conn.execute(
        update(platforms).where(platforms.c.id == platform_id).values(updated_at=now, **values)
    )


def set_zone(
    conn: Connection, platform_id: str, zone: int, valid_until: datetime, now: datetime
) -> None:
    exists = conn.execute(
        select(platform_zones.c.zone).where(
            platform_zones.c.platform_id == platform_id, platform_zones.c.zone == zone
        )
    ).first()
    if exists:
        conn.execute(
            update(platform_zones)
            .where(platform_zones.c.platform_id == platform_id, platform_zones.c.zone == zone)
            .values(valid_until=valid_until, updated_at=now)
        )
    else:
        conn.execute(
            insert(platform_zones).values(
                platform_id=platform_id, zone=zone, valid_until=valid_until, updated_at=now
            )
        )


def count_working_webhooks(conn: Connection, platform_id: str) -> int:
    count = conn.execute(
        select(func.count())
        .select_from(webhooks)
        .where(
            webhooks.c.platform_id == platform_id,
            webhooks.c.status == WebhookStatus.WORKING.value,
            webhooks.c.deleted_at.is_(None),
        )
    ).scalar_one()
    return int(count)


def insert_token(conn: Connection, platform_id: str, token_hash: str, now: datetime) -> str:
    token_id = new_id("tok")
    conn.execute(
        insert(api_tokens).values(
            id=token_id, platform_id=platform_id, token_hash=token_hash, created_at=now
        )
    )
    return token_id


def find_active_token(conn: Connection, token_hash: str) -> ApiToken | None:
    row = conn.execute(
        select(api_tokens).where(
            api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    return ApiToken(id=row.id, platform_id=row.platform_id, created_at=row.created_at)


def revoke_token(conn: Connection, platform_id: str, token_id: str, now: datetime) -> bool:
    result = conn.execute(
        update(api_tokens)
        .where(
            api_tokens.c.id == token_id,
            api_tokens.c.platform_id == platform_id,
            api_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return result.rowcount == 1


def list_tokens(conn: Connection, platform_id: str) -> list[ApiToken]:
    rows = conn.execute(
        select(api_tokens).where(api_tokens.c.platform_id == platform_id).order_by(api_tokens.c.id)
    ).all()
    return [
        ApiToken(
            id=r.id, platform_id=r.platform_id, created_at=r.created_at, revoked_at=r.revoked_at
        )
        for r in rows
    ]


def record_audit(
    conn: Connection,
    *,
    platform_id: str | None,
    actor: Actor,
    action: str,
    target_id: str | None,
    now: datetime,
) -> None:
    conn.execute(
        insert(audit_log).values(
            id=new_id("aud"),
            platform_id=platform_id,
            actor_kind=actor.kind,
            actor_id=actor.id,
            action=action,
            target_id=target_id,
            ip=actor.ip,
            user_agent=(actor.user_agent or "")[:300] or None,
            created_at=now,
        )
    )
