"""A platform's webhooks, their secrets and test sends."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from hookline.api.schemas.common import (
    SafeText,
    Strict,
    TopicName,
    WebhookName,
    WholeNumber,
    rule,
)
from hookline.domain.controls import (
    MASK,
    MAX_FILTER_FIELDS,
    MAX_HEADERS,
    MAX_TIMEOUT_SECONDS,
    MIN_TIMEOUT_SECONDS,
    Ordering,
)
from hookline.domain.models import MAX_ROTATION_GRACE_SECONDS, StopReason, Webhook, WebhookStatus
from hookline.domain.retry import RetryPolicy
from hookline.services.stats import WebhookStats

HeaderMap = Annotated[
    dict[str, str],
    rule(maxProperties=MAX_HEADERS),
    Field(
        description=f"Up to {MAX_HEADERS} extra request headers (e.g. an API gateway's key)."
        " Not CrescLab-*, webhook-*, Content-*, Host or hop-by-hop headers. Values are"
        f" encrypted at rest and answered as {MASK!r}; sending {MASK!r} back keeps the"
        " saved value.",
        examples=[{"X-Api-Key": "k_live_123"}],
    ),
]
FilterMap = Annotated[
    dict[str, Any],
    rule(maxProperties=MAX_FILTER_FIELDS),
    Field(
        description="Deliver only events whose every listed field equals one of its values:"
        " data.<field> to a value or a list of values. Checked against each topic's schema.",
        examples=[{"data.status": ["delivered", "failed"], "data.source": "sms"}],
    ),
]
Timeout = Annotated[
    WholeNumber,
    rule(minimum=MIN_TIMEOUT_SECONDS, maximum=MAX_TIMEOUT_SECONDS),
    Field(description="Seconds a delivery attempt may take; null: the platform's."),
]
RateLimit = Annotated[
    WholeNumber,
    rule(minimum=1, maximum=1000),
    Field(description="At most this many requests a second to this webhook, all workers together."),
]


class Controls(Strict):
    """The delivery controls; on a change, a field given as null goes back to its default."""

    headers: HeaderMap | None = None
    timeout_seconds: Timeout | None = None
    retry_policy: RetryPolicy | None = Field(
        default=None,
        description="maac (3 retries) or extended (about two days); null: the platform's.",
    )
    filter: FilterMap | None = None
    ordering: Ordering | None = Field(
        default=None,
        description="fifo: one delivery at a time, in event order (a retrying one holds the rest).",
    )
    rate_limit_per_second: RateLimit | None = None

    def given(self) -> dict[str, Any]:
        """The controls the request named, null ones included (they reset)."""
        return {k: getattr(self, k) for k in CONTROL_FIELDS if k in self.model_fields_set}


CONTROL_FIELDS = (
    "headers",
    "timeout_seconds",
    "retry_policy",
    "filter",
    "ordering",
    "rate_limit_per_second",
)


class WebhookCreate(Controls):
    name: WebhookName = Field(examples=["CRM receipts"])
    url: SafeText = Field(
        examples=["https://crm.example.com/hooks/maac"],
        description="https (http only where the operator allows it), to a public address.",
    )
    topics: Annotated[list[TopicName], rule(minItems=1)] = Field(
        examples=[["receipt.receipt_validated"]]
    )


class WebhookPatch(Controls):
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
    headers: dict[str, str] = Field(description=f"Names of the extra headers; values {MASK!r}.")
    timeout_seconds: int | None
    retry_policy: RetryPolicy | None
    filter: dict[str, list[Any]] | None
    filtered_events: int = Field(description="Events its filter kept from being delivered.")
    ordering: Ordering
    rate_limit_per_second: int | None
    paused_until: datetime | None = Field(
        description="A 429/503 with Retry-After holds its deliveries until then."
    )

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
            headers=dict.fromkeys(w.header_names, MASK),
            timeout_seconds=w.timeout_seconds,
            retry_policy=w.retry_policy,
            filter={k: list(v) for k, v in w.event_filter.items()} if w.event_filter else None,
            filtered_events=w.filtered_events,
            ordering=w.ordering,
            rate_limit_per_second=w.rate_limit_per_second,
            paused_until=w.paused_until,
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
