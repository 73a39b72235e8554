"""Operator use cases: platforms, zone purchases and API tokens; token authentication."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from hookline.catalog import ZONES
from hookline.domain import secrets
from hookline.domain.errors import InvalidInput, PlatformNotFound, TokenNotFound, Unauthorized
from hookline.domain.models import (
    CLI_ACTOR,
    DEFAULT_TIMEZONE,
    DEFAULT_WEBHOOK_LIMIT,
    MAX_PLATFORM_NAME_LENGTH,
    Actor,
    ApiToken,
    Platform,
)
from hookline.domain.retry import RetryPolicy
from hookline.domain.zones import ZoneValidity, zone_validity
from hookline.services.context import Context
from hookline.services.validation import (
    FieldErrors,
    clean_instant,
    clean_name,
    clean_timezone,
    clean_webhook_limit,
    clean_zone,
)
from hookline.store import platforms as store


@dataclass(frozen=True)
class CreatedPlatform:
    platform: Platform
    api_token: str
    token_id: str


@dataclass(frozen=True)
class ZoneState:
    zone: int
    valid_until: datetime | None
    validity: ZoneValidity

    @property
    def valid(self) -> bool:
        return self.validity is ZoneValidity.VALID


@dataclass(frozen=True)
class PlatformOverview:
    platform: Platform
    working_webhooks: int
    zones: list[ZoneState]

    @property
    def at_limit(self) -> bool:
        """Every working place is taken: a new or resumed webhook would be refused."""
        return self.working_webhooks >= self.platform.webhook_limit

    @property
    def zone_by_number(self) -> dict[int, ZoneState]:
        return {z.zone: z for z in self.zones}


def _audit(
    conn: Connection, platform_id: str, actor: Actor, action: str, target_id: str, now: datetime
) -> None:
    """Operators' changes are audited like marketers' secret reveals: who, what, when."""
    store.record_audit(
        conn, platform_id=platform_id, actor=actor, action=action, target_id=target_id, now=now
    )


def platform_not_found(platform_id: str) -> PlatformNotFound:
    return PlatformNotFound(f"No platform has the id '{platform_id}'.")


def lock_platform(ctx: Context, conn: Connection, platform_id: str) -> None:
    """Serialise this platform's writers for the rest of the transaction, or 404."""
    if not store.lock_platform(conn, platform_id):
        raise platform_not_found(platform_id)


def create_platform(
    ctx: Context,
    name: str,
    timezone: str = DEFAULT_TIMEZONE,
    webhook_limit: int = DEFAULT_WEBHOOK_LIMIT,
    *,
    actor: Actor = CLI_ACTOR,
) -> CreatedPlatform:
    fields = FieldErrors()
    name = fields.check(clean_name, name, max_length=MAX_PLATFORM_NAME_LENGTH)
    timezone = fields.check(clean_timezone, timezone)
    webhook_limit = fields.check(clean_webhook_limit, webhook_limit)
    fields.raise_if_any()
    token = secrets.generate_token(secrets.PLATFORM_TOKEN_PREFIX)
    now = ctx.clock()
    with ctx.db.write() as conn:
        platform_id = store.insert_platform(
            conn, name=name, timezone=timezone, webhook_limit=webhook_limit, now=now
        )
        token_id = store.insert_token(conn, platform_id, secrets.hash_token(token), now)
        _audit(conn, platform_id, actor, "platform.create", platform_id, now)
        platform = store.get_platform(conn, platform_id)
    assert platform is not None
    return CreatedPlatform(platform=platform, api_token=token, token_id=token_id)


def get_platform(ctx: Context, platform_id: str) -> Platform:
    with ctx.db.read() as conn:
        platform = store.get_platform(conn, platform_id)
    if platform is None:
        raise platform_not_found(platform_id)
    return platform


def update_platform(
    ctx: Context,
    platform_id: str,
    *,
    name: str | None = None,
    timezone: str | None = None,
    webhook_limit: int | None = None,
    retry_policy: RetryPolicy | None = None,
    actor: Actor = CLI_ACTOR,
) -> Platform:
    fields = FieldErrors()
    values: dict[str, object] = {}
    if name is not None:
        values["name"] = fields.check(clean_name, name, max_length=MAX_PLATFORM_NAME_LENGTH)
    if timezone is not None:
        values["timezone"] = fields.check(clean_timezone, timezone)
    if webhook_limit is not None:
        values["webhook_limit"] = fields.check(clean_webhook_limit, webhook_limit)
    if retry_policy is not None:
        values["retry_policy"] = RetryPolicy(retry_policy).value
    fields.raise_if_any()
    with ctx.db.write() as conn:
        lock_platform(ctx, conn, platform_id)
        if values:
            now = ctx.clock()
            store.update_platform(conn, platform_id, now, **values)
            action = "platform.update:" + ",".join(sorted(values))
            _audit(conn, platform_id, actor, action, platform_id, now)
        platform = store.get_platform(conn, platform_id)
    assert platform is not None
    return platform


def set_zone(
    ctx: Context,
    platform_id: str,
    zone: int,
    valid_until: datetime,
    *,
    actor: Actor = CLI_ACTOR,
) -> Platform:
    """Record a zone purchase (or change its end). A date in the past ends the zone now."""
    zone = clean_zone(zone)
    if valid_until.tzinfo is None:
        raise InvalidInput.single(
            "valid_until",
            "timezone_required",
            "valid_until must carry a UTC offset, e.g. 2027-12-31T23:59:59+08:00.",
        )
    clean_instant(valid_until, "valid_until")
    with ctx.db.write() as conn:
        lock_platform(ctx, conn, platform_id)
        now = ctx.clock()
        store.set_zone(conn, platform_id, zone, valid_until, now)
        _audit(conn, platform_id, actor, f"zone.set:{zone}", platform_id, now)
        platform = store.get_platform(conn, platform_id)
    assert platform is not None
    return platform


def overview(ctx: Context, platform_id: str) -> PlatformOverview:
    now = ctx.clock()
    with ctx.db.read() as conn:
        platform = store.get_platform(conn, platform_id)
        if platform is None:
            raise platform_not_found(platform_id)
        working = store.count_working_webhooks(conn, platform_id)
    return _overview_of(platform, working, now)


def list_platforms(ctx: Context) -> list[PlatformOverview]:
    """Every platform by name, for the operator's pages."""
    now = ctx.clock()
    with ctx.db.read() as conn:
        found = store.list_platforms(conn)
        working = store.count_working_webhooks_by_platform(conn)
    return [_overview_of(p, working.get(p.id, 0), now) for p in found]


def _overview_of(platform: Platform, working: int, now: datetime) -> PlatformOverview:
    zones = []
    for zone in ZONES:
        purchase = platform.zone(zone)
        zones.append(
            ZoneState(
                zone=zone,
                valid_until=purchase.valid_until if purchase else None,
                validity=zone_validity(purchase, now),
            )
        )
    return PlatformOverview(platform=platform, working_webhooks=working, zones=zones)


def create_token(ctx: Context, platform_id: str, *, actor: Actor = CLI_ACTOR) -> tuple[str, str]:
    """A new API token for the platform: (token id, token). The token is shown once."""
    token = secrets.generate_token(secrets.PLATFORM_TOKEN_PREFIX)
    with ctx.db.write() as conn:
        lock_platform(ctx, conn, platform_id)
        now = ctx.clock()
        token_id = store.insert_token(conn, platform_id, secrets.hash_token(token), now)
        _audit(conn, platform_id, actor, "token.create", token_id, now)
    return token_id, token


def revoke_token(
    ctx: Context, platform_id: str, token_id: str, *, actor: Actor = CLI_ACTOR
) -> None:
    now = ctx.clock()
    with ctx.db.write() as conn:
        lock_platform(ctx, conn, platform_id)
        if not store.revoke_token(conn, platform_id, token_id, now):
            raise TokenNotFound(f"Platform '{platform_id}' has no active token '{token_id}'.")
        _audit(conn, platform_id, actor, "token.revoke", token_id, now)


def list_tokens(ctx: Context, platform_id: str) -> list[ApiToken]:
    with ctx.db.read() as conn:
        return store.list_tokens(conn, platform_id)


def authenticate(ctx: Context, token: str) -> ApiToken:
    with ctx.db.read() as conn:
        found = store.find_active_token(conn, secrets.hash_token(token))
    if found is None:
        raise Unauthorized("The API token is not valid or has been revoked.")
    return found
