"""The delivery log of a platform: deliveries, attempts, events; resend, recover."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from hookline.api.deps import Ctx, PlatformToken
from hookline.domain.deliveries import Attempt, Delivery, Event
from hookline.http.deps import SendDep
from hookline.services import deliveries
from hookline.services.deliveries import SentNow

router = APIRouter(prefix="/v1", tags=["deliveries"])


class AttemptOut(BaseModel):
    number: int
    trigger: str = Field(description="worker, resend or test")
    started_at: datetime
    latency_ms: float
    status_code: int | None
    error: str | None = Field(
        description="timeout, connect_error, dns_error, tls_error, blocked_address,"
        " http_status, outcome_unknown"
    )
    error_detail: str | None
    response_body: str = Field(description="The first 4 KiB of the receiver's answer.")

    @classmethod
    def of(cls, a: Attempt) -> AttemptOut:
        return cls(
            number=a.number,
            trigger=a.trigger.value,
            started_at=a.started_at,
            latency_ms=a.latency_ms,
            status_code=a.status_code,
            error=a.error,
            error_detail=a.error_detail,
            response_body=a.response_body,
        )


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    webhook_id: str
    topic: str
    idempotency_key: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            event_id=d.event_id,
            webhook_id=d.webhook_id,
            topic=d.topic,
            idempotency_key=d.idempotency_key,
            state=d.state.value,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
            updated_at=d.updated_at,
            completed_at=d.completed_at,
        )


class DeliveryDetail(DeliveryOut):
    attempt_log: list[AttemptOut]


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None


class EventOut(BaseModel):
    id: str
    topic: str
    producer_id: str | None
    occurred_at: datetime
    received_at: datetime
    is_test: bool
    body: str = Field(description="The exact body every delivery of this event sends.")
    deliveries: list[DeliveryOut]

    @classmethod
    def of(cls, e: Event) -> EventOut:
        return cls(
            id=e.id,
            topic=e.topic,
            producer_id=e.producer_id,
            occurred_at=e.occurred_at,
            received_at=e.received_at,
            is_test=e.is_test,
            body=e.body.decode("utf-8"),
            deliveries=[DeliveryOut.of(d) for d in e.deliveries],
        )


class SendResult(BaseModel):
    """What one immediate attempt did (test send, resend)."""

    delivery_id: str
    status_code: int | None
    latency_ms: float
    response_body: str
    error: str | None
    error_detail: str | None
    request_headers: dict[str, str]
    request_body: str

    @classmethod
    def of(cls, sent: SentNow) -> SendResult:
        r = sent.result
        return cls(
            delivery_id=sent.delivery_id,
            status_code=r.status_code,
            latency_ms=round(r.latency_ms, 3),
            response_body=r.response_body,
            error=r.error.value if r.error else None,
            error_detail=r.error_detail,
            request_headers=sent.request_headers,
            request_body=sent.request_body.decode("utf-8"),
        )


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str = Field(examples=["receipt.receipt_validated"])


class RecoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime
    until: datetime | None = None


class RecoverOut(BaseModel):
    requeued: int


@router.get("/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: str,
    ctx: Ctx,
    token: PlatformToken,
    state: Annotated[str | None, Query()] = None,
    topic: Annotated[str | None, Query()] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query()] = deliveries.DEFAULT_PAGE_SIZE,
) -> DeliveryList:
    items, next_cursor = deliveries.list_deliveries(
        ctx,
        token.platform_id,
        webhook_id,
        state=state,
        topic=topic,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return DeliveryList(data=[DeliveryOut.of(d) for d in items], next_cursor=next_cursor)


@router.post("/webhooks/{webhook_id}/recover")
def recover(webhook_id: str, body: RecoverIn, ctx: Ctx, token: PlatformToken) -> RecoverOut:
    """Requeue the failed deliveries created in [since, until) (until: now by default)."""
    count = deliveries.recover(ctx, token.platform_id, webhook_id, body.since, body.until)
    return RecoverOut(requeued=count)


@router.get("/deliveries/{delivery_id}")
def get_delivery(delivery_id: str, ctx: Ctx, token: PlatformToken) -> DeliveryDetail:
    d = deliveries.get_delivery(ctx, token.platform_id, delivery_id)
    return DeliveryDetail(
        **DeliveryOut.of(d).model_dump(), attempt_log=[AttemptOut.of(a) for a in d.attempt_log]
    )


@router.post("/deliveries/{delivery_id}/resend")
async def resend(delivery_id: str, ctx: Ctx, send: SendDep, token: PlatformToken) -> SendResult:
    """One attempt now, with the same idempotency key and body."""
    sent = await deliveries.resend(ctx, send, token.platform_id, delivery_id)
    return SendResult.of(sent)


@router.get("/events/{event_id}")
def get_event(event_id: str, ctx: Ctx, token: PlatformToken) -> EventOut:
    return EventOut.of(deliveries.get_event(ctx, token.platform_id, event_id))
