"""A platform's webhooks, their secrets and test sends."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hookline.api.schemas.common import SafeText, Strict
from hookline.domain.models import StopReason, Webhook, WebhookStatus


class WebhookCreate(Strict):
    name: SafeText = Field(examples=["CRM receipts"])
    url: SafeText = Field(examples=["https://crm.example.com/hooks/maac"])
    topics: list[SafeText] = Field(examples=[["receipt.receipt_validated"]])


class WebhookPatch(Strict):
    name: SafeText | None = None
    url: SafeText | None = None
    topics: list[SafeText] | None = None


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


class TestIn(Strict):
    topic: SafeText = Field(examples=["receipt.receipt_validated"])
