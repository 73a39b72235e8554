"""What a platform sees of itself: its settings, zones and the topics it may use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hookline.api.schemas.common import Strict
from hookline.domain.models import Platform
from hookline.domain.retry import RetryPolicy


class PlatformSettings(Strict):
    retry_policy: RetryPolicy = Field(
        description="extended (default): 1 s, 2 s, 4 s, then up to 24 h, about two days in all;"
        " maac: 1 s, 2 s, 4 s only, as MAAC does."
    )


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


class ZoneOut(BaseModel):
    zone: int
    valid_until: datetime | None
    valid: bool


class PlatformDetail(PlatformOut):
    working_webhooks: int
    zones: list[ZoneOut]


class TopicOut(BaseModel):
    name: str
    zone: int
    description: dict[str, str]
    schema_: dict[str, Any] = Field(alias="schema")
    sample: dict[str, Any]
    available: bool
    unavailable_reason: str | None

    model_config = ConfigDict(populate_by_name=True)
