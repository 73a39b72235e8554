"""The objects a marketer and an operator manage, and the rules between them."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hookline.domain.controls import FilterValue, Ordering
from hookline.domain.retry import RetryPolicy

DEFAULT_TIMEZONE = "Asia/Taipei"
DEFAULT_WEBHOOK_LIMIT = 3
MAX_WEBHOOK_LIMIT = 1000
MAX_NAME_LENGTH = 100
MAX_PLATFORM_NAME_LENGTH = 200
MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 3600


class WebhookStatus(enum.StrEnum):
    WORKING = "working"
    STOPPED = "stopped"


class Role(enum.StrEnum):
    """What a dashboard user may see: a member their own platform, an operator every one."""

    MEMBER = "member"
    OPERATOR = "operator"


class StopReason(enum.StrEnum):
    BY_USER = "by_user"
    FAILING = "failing"
    GONE = "gone"


@dataclass(frozen=True)
class ZonePurchase:
    """A paid zone: its topics work while ``now < valid_until``."""

    zone: int
    valid_until: datetime

    def is_valid(self, now: datetime) -> bool:
        return now < self.valid_until


@dataclass(frozen=True)
class Platform:
    """A tenant: one LINE official account and everything it owns."""

    id: str
    name: str
    timezone: str
    webhook_limit: int
    created_at: datetime
    updated_at: datetime
    zones: tuple[ZonePurchase, ...] = ()
    retry_policy: RetryPolicy = RetryPolicy.EXTENDED

    def zone(self, zone: int) -> ZonePurchase | None:
        return next((z for z in self.zones if z.zone == zone), None)


@dataclass(frozen=True)
class Webhook:
    id: str
    platform_id: str
    name: str
    url: str
    topics: tuple[str, ...]
    status: WebhookStatus
    stop_reason: StopReason | None
    created_at: datetime
    updated_at: datetime
    # Delivery controls (domain.controls); the defaults are "as the platform does".
    header_names: tuple[str, ...] = ()
    """The extra headers' names; their values stay sealed and are never shown again."""
    timeout_seconds: int | None = None
    retry_policy: RetryPolicy | None = None
    event_filter: Mapping[str, tuple[FilterValue, ...]] | None = None
    filtered_events: int = 0
    """Events of its topics that its filter kept from becoming deliveries."""
    ordering: Ordering = Ordering.NONE
    rate_limit_per_second: int | None = None
    paused_until: datetime | None = None
    """A 429/503 with Retry-After holds every delivery of the webhook until then."""

    @property
    def is_working(self) -> bool:
        return self.status is WebhookStatus.WORKING


@dataclass(frozen=True)
class ApiToken:
    id: str
    platform_id: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class User:
    """A dashboard login. Members belong to one platform; operators to none (they see all).

    The password hash is deliberately not here: it never leaves the store and services.
    """

    id: str
    email: str
    role: Role
    platform_id: str | None
    created_at: datetime

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR


@dataclass(frozen=True)
class WebhookPage:
    items: list[Webhook]
    next_cursor: str | None


@dataclass(frozen=True)
class Actor:
    """Who did something, for the audit log: never a secret, only ids and addresses."""

    kind: str  # "platform_token", "operator", "user"
    id: str
    ip: str | None = None
    user_agent: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


CLI_ACTOR = Actor(kind="operator", id="cli")
"""Who the audit log names when no request is behind a change (CLI, demo seeding)."""
