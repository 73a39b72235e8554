"""The delivery log: deliveries, their attempts and events; resend and recover."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hookline.api.schemas.common import Moment, Strict
from hookline.domain import response_headers
from hookline.domain.deliveries import Attempt, Delivery, ErrorClass, Event
from hookline.services.deliveries import SentNow


class AttemptOut(BaseModel):
    number: int
    trigger: str = Field(description="worker, resend or test")
    started_at: datetime
    latency_ms: float
    status_code: int | None
    error: str | None = Field(
        description="One of: " + ", ".join(error.value for error in ErrorClass)
    )
    error_detail: str | None
    response_body: str = Field(description="The first 4 KiB of the receiver's answer.")
    response_headers: list[tuple[str, str]] = Field(
        default_factory=list,
        description="The answer's headers as [name, value] pairs, in order: at most 40,"
        " values cut at 256 characters, cookies and credentials shown as [removed].",
    )

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
            response_headers=response_headers.parse(a.response_headers),
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
    is_test: bool = Field(default=False, description="A test send, not a real event's.")

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
            is_test=d.is_test,
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


class RecoverIn(Strict):
    since: Moment
    until: Moment | None = None


class RecoverOut(BaseModel):
    requeued: int
