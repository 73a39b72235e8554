"""A platform's webhooks, their secrets and test sends."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from hookline.api.schemas.common import (
    SafeText,
    Strict,
    TopicName,
    WebhookName,
    WholeNumber,
    rule,
)
from hookline.domain.models import MAX_ROTATION_GRACE_SECONDS, StopReason, Webhook, WebhookStatus


class WebhookCreate(Strict):
    name: WebhookName = Field(examples=["CRM receipts"])
    url: SafeText = Field(
        examples=["https://crm.example.com/hooks/maac"],
        description="https (http only where the operator allows it), to a public address.",
    )
    topics: Annotated[list[TopicName], rule(minItems=1)] = Field(
        examples=[["receipt.receipt_validated"]]
    )


class WebhookPatch(Strict):
    name: WebhookName | None = None
    url: SafeText | None = None
    topics: Annotated[list[TopicName], rule(minItems=1)] | None = None


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
    expire_old_after_seconds: Annotated[
        WholeNumber, rule(minimum=0, maximum=MAX_ROTATION_GRACE_SECONDS)
    ] = Field(default=0, description="Keep the old secret signing (Standard Webhooks header only).")


class TestIn(Strict):
    topic: TopicName = Field(examples=["receipt.receipt_validated"])
