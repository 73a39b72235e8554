"""Producers' routes: ``POST /internal/v1/events`` and its batch form.

Guarded by ``HOOKLINE_INGEST_TOKEN``, not by platform tokens: producers (the receipt,
SurveyCake, PNP, prize and message modules) speak for every platform.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from hookline.api.deps import Credentials, Ctx, bearer_token
from hookline.api.errors import problem_fields
from hookline.domain import secrets
from hookline.domain.errors import HooklineError, IngestDisabled, Unauthorized
from hookline.http.deps import WiringDep
from hookline.services import ingest

router = APIRouter(prefix="/internal/v1", tags=["ingest"])


def require_ingest_token(wiring: WiringDep, credentials: Credentials) -> None:
    expected = wiring.ingest_token
    if not expected:
        raise IngestDisabled("Ingest is disabled: HOOKLINE_INGEST_TOKEN is not set.")
    if not secrets.tokens_equal(bearer_token(credentials), expected):
        raise Unauthorized("The ingest token is not valid.")


Producer = Annotated[None, Depends(require_ingest_token)]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform_id: str = Field(examples=["pf_01jd..."])
    topic: str = Field(examples=["receipt.receipt_validated"])
    data: dict[str, Any] = Field(description="Validated against the topic's JSON Schema.")
    id: str | None = Field(
        default=None,
        description="The producer's event id: the same id again within 24 h creates nothing.",
    )
    occurred_at: datetime | None = Field(
        default=None, description="When it happened (with offset); default: now."
    )

    def incoming(self) -> ingest.IncomingEvent:
        return ingest.IncomingEvent(
            platform_id=self.platform_id,
            topic=self.topic,
            data=self.data,
            producer_id=self.id,
            occurred_at=self.occurred_at,
        )


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

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


@router.post("/events", status_code=202)
def ingest_event(body: EventIn, ctx: Ctx, _producer: Producer) -> Accepted:
    result = ingest.ingest_one(ctx, body.incoming())
    return Accepted(
        event_id=result.event_id, deliveries=result.deliveries, duplicate=result.duplicate
    )


@router.post("/events/batch", status_code=202, response_model_exclude_none=True)
def ingest_batch(body: BatchIn, ctx: Ctx, _producer: Producer) -> BatchOut:
    """Up to 1,000 events in one transaction; a refused item does not stop the others."""
    results = ingest.ingest(ctx, [e.incoming() for e in body.events])
    items = [
        BatchItem(error=problem_fields(r))
        if isinstance(r, HooklineError)
        else BatchItem(event_id=r.event_id, deliveries=r.deliveries, duplicate=r.duplicate)
        for r in results
    ]
    rejected = sum(1 for i in items if i.error is not None)
    return BatchOut(accepted=len(items) - rejected, rejected=rejected, results=items)
