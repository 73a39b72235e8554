"""The platform-wide event log: events with their deliveries and one outcome word."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hookline.api.schemas.deliveries import DeliveryOut
from hookline.domain.outcomes import EventOutcome
from hookline.services.event_log import LoggedEvent


class LoggedEventOut(BaseModel):
    id: str
    topic: str
    producer_id: str | None
    occurred_at: datetime
    received_at: datetime
    is_test: bool = Field(description="A test send from the dashboard or the API.")
    outcome: EventOutcome = Field(
        description="failed (any delivery failed for good), pending (some still being sent),"
        " delivered (all delivered) or unrouted (no webhook listened to its topic)."
    )
    deliveries: list[DeliveryOut]

    @classmethod
    def of(cls, logged: LoggedEvent) -> LoggedEventOut:
        e = logged.event
        return cls(
            id=e.id,
            topic=e.topic,
            producer_id=e.producer_id,
            occurred_at=e.occurred_at,
            received_at=e.received_at,
            is_test=e.is_test,
            outcome=logged.outcome,
            deliveries=[DeliveryOut.of(d) for d in e.deliveries],
        )


class EventLog(BaseModel):
    data: list[LoggedEventOut]
    next_cursor: str | None
