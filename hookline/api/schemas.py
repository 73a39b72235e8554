"""Request and response bodies of the management API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hookline.domain.models import Platform, Role, StopReason, User, Webhook, WebhookStatus
from hookline.domain.retry import RetryPolicy


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlatformCreate(Strict):
    name: str = Field(examples=["Demo Coffee"])
    timezone: str | None = Field(default=None, examples=["Asia/Taipei"])
    webhook_limit: int | None = Field(default=None, examples=[3])


class PlatformPatch(Strict):
    name: str | None = None
    timezone: str | None = None
    webhook_limit: int | None = None
    retry_policy: RetryPolicy | None = None


class PlatformSettings(Strict):
    retry_policy: RetryPolicy = Field(
        description="extended (default): 1 s, 2 s, 4 s, then up to 24 h, about two days in all;"
        " maac: 1 s, 2 s, 4 s only, as MAAC does."
    )


class ZoneSet(Strict):
    valid_until: datetime = Field(examples=["2027-12-31T23:59:59+08:00"])


class PlatformOut(BaseModel):
    id: str
    name: str
    timezone: str
    webhook_limit: int
    retry_policy: RetryPolicy
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Platform) -> PlatformOut:
        return cls(
            id=p.id,
            name=p.name,
            timezone=p.timezone,
            webhook_limit=p.webhook_limit,
            retry_policy=p.retry_policy,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class PlatformCreated(PlatformOut):
    api_token: str = Field(description="Shown this once; hookline keeps only its hash.")


class ZoneOut(BaseModel):
    zone: int
    valid_until: datetime | None
    valid: bool


class PlatformDetail(PlatformOut):
    working_webhooks: int
    zones: list[ZoneOut]


class TokenCreated(BaseModel):
    id: str
    token: str = Field(description="Shown this once; hookline keeps only its hash.")


class UserCreate(Strict):
    email: str = Field(examples=["marketer@example.com"])
    password: str = Field(description="10 to 1024 characters; stored only as an argon2 hash.")
    role: Role = Field(
        default=Role.MEMBER,
        description="Only member here: operators are created with `hookline admin create-user`.",
    )


class UserOut(BaseModel):
    """A dashboard user; the password (even its hash) is never returned."""

    id: str
    email: str
    role: Role
    platform_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(
            id=u.id, email=u.email, role=u.role, platform_id=u.platform_id, created_at=u.created_at
        )


class TopicOut(BaseModel):
    name: str
    zone: int
    description: dict[str, str]
    schema_: dict[str, Any] = Field(alias="schema")
    sample: dict[str, Any]
    available: bool
    unavailable_reason: str | None

    model_config = ConfigDict(populate_by_name=True)


class WebhookCreate(Strict):
    name: str = Field(examples=["CRM receipts"])
    url: str = Field(examples=["https://crm.example.com/hooks/maac"])
    topics: list[str] = Field(examples=[["receipt.receipt_validated"]])


class WebhookPatch(Strict):
    name: str | None = None
    url: str | None = None
    topics: list[str] | None = None


class WebhookOut(BaseModel):
    id: str
    platform_id: str
    name: str
    url: str
    topics: list[str]
    status: WebhookStatus
    stop_reason: StopReason | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, w: Webhook) -> WebhookOut:
        return cls(
            id=w.id,
            platform_id=w.platform_id,
            name=w.name,
            url=w.url,
            topics=list(w.topics),
            status=w.status,
            stop_reason=w.stop_reason,
            created_at=w.created_at,
            updated_at=w.updated_at,
        )


class WebhookList(BaseModel):
    data: list[WebhookOut]
    next_cursor: str | None


class SecretOut(BaseModel):
    secret: str


class SecretRotate(Strict):
    expire_old_after_seconds: int = Field(
        default=0, description="Keep the old secret signing (Standard Webhooks header only)."
    )
