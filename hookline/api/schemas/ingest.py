"""Producers' bodies: one event or a batch, and what became of each."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from hookline.api.schemas.common import Instant, Strict, rule
from hookline.catalog import TOPICS
from hookline.services import ingest


class EventIn(Strict):
    """One event. Its text is checked by the ingest service, not here, so that in a batch
    an unsafe string refuses only its own item (domain.text states the rules)."""

    platform_id: str = Field(examples=["pf_01jd..."])
    topic: Annotated[str, rule(enum=list(TOPICS))] = Field(examples=["receipt.receipt_validated"])
    data: dict[str, Any] = Field(
        description="Validated against the topic's JSON Schema. Any JSON string may appear;"
        " NaN, infinities, lone surrogates and nesting over 64 levels are refused."
    )
    id: Annotated[str, rule(minLength=1, maxLength=ingest.MAX_PRODUCER_ID)] | None = Field(
        default=None,
        description="The producer's event id: the same id again within 24 h creates nothing.",
    )
    occurred_at: Instant | None = Field(
        default=None,
        description="When it happened, with a UTC offset; years 1970 to 9998 in UTC; default: now.",
    )

    def incoming(self) -> ingest.IncomingEvent:
        return ingest.IncomingEvent(
            platform_id=self.platform_id,
            topic=self.topic,
            data=self.data,
            producer_id=self.id,
            occurred_at=self.occurred_at,
        )


class BatchIn(Strict):
    events: list[EventIn] = Field(max_length=ingest.MAX_BATCH)


class Accepted(BaseModel):
    event_id: str
    deliveries: int = Field(description="Deliveries created: one per subscribed working webhook.")
    duplicate: bool = Field(default=False, description="True when the id was seen before.")


class BatchItem(BaseModel):
    event_id: str | None = None
    deliveries: int | None = None
    duplicate: bool | None = None
    error: dict[str, Any] | None = Field(default=None, description="A problem, as for one event.")


class BatchOut(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItem]
