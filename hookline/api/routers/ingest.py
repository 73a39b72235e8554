"""Producers' routes: ``POST /internal/v1/events`` and its batch form.

Guarded by ``HOOKLINE_INGEST_TOKEN``, not by platform tokens: producers (the receipt,
SurveyCake, PNP, prize and message modules) speak for every platform.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from hookline.api.deps import Credentials, Ctx, bearer_token
from hookline.api.errors import problem_fields
from hookline.api.openapi import BODY, STORAGE_UNAVAILABLE, Answers
from hookline.api.schemas.ingest import Accepted, BatchIn, BatchItem, BatchOut, EventIn
from hookline.domain import secrets
from hookline.domain.errors import HooklineError, IngestDisabled, InvalidInput, Unauthorized
from hookline.http.deps import WiringDep
from hookline.services import ingest

# Every ingest route takes a body; IngestDisabled: no HOOKLINE_INGEST_TOKEN set.
answers = Answers(Unauthorized, IngestDisabled, InvalidInput, STORAGE_UNAVAILABLE, *BODY)
router = APIRouter(prefix="/internal/v1", tags=["ingest"], responses=answers())


def require_ingest_token(wiring: WiringDep, credentials: Credentials) -> None:
    expected = wiring.ingest_token
    if not expected:
        raise IngestDisabled("Ingest is disabled: HOOKLINE_INGEST_TOKEN is not set.")
    if not secrets.tokens_equal(bearer_token(credentials), expected):
        raise Unauthorized("The ingest token is not valid.")


Producer = Annotated[None, Depends(require_ingest_token)]


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
