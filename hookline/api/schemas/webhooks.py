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
from hookline.services.stats import WebhookStats


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


class WebhookStatsOut(BaseModel):
    """A webhook's health over the window; test sends are left out."""

    window: str = Field(description="24h or 7d: the figures cover the time up to now.")
    delivered: int = Field(description="Deliveries delivered in the window.")
    failed: int = Field(
        description="Deliveries that failed for good, or are retrying after a failed attempt."
    )
    success_rate: float | None = Field(
        description="delivered / (delivered + failed), 0 to 1; null when both are 0."
    )
    p50_ms: float | None = Field(description="Median latency of their attempts in the window.")
    p95_ms: float | None = Field(description="95th percentile latency (nearest rank).")
    health: str = Field(description="healthy, degraded, failing or idle (nothing settled).")

    @classmethod
    def of(cls, s: WebhookStats) -> WebhookStatsOut:
        return cls(
            window=s.window,
            delivered=s.delivered,
            failed=s.failed,
            success_rate=s.success_rate,
            p50_ms=s.p50_ms,
            p95_ms=s.p95_ms,
            health=s.health.value,
        )


class SigningSecret(BaseModel):
    """One secret that signs deliveries now; never its value (``GET .../secret`` reveals)."""

    created_at: datetime
    expires_at: datetime | None = Field(
        description="null for the current secret; the end of an old one's grace period."
    )


class SigningSecrets(BaseModel):
    data: list[SigningSecret] = Field(description="The current secret first.")
