"""The delivery log of a platform: deliveries, attempts, events; resend, recover."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hookline.api.deps import Ctx, PlatformToken
from hookline.api.openapi import BODY, STORAGE_UNAVAILABLE, Answers
from hookline.api.params import SafePath
from hookline.api.schemas.common import Moment
from hookline.api.schemas.deliveries import (
    AttemptOut,
    DeliveryDetail,
    DeliveryList,
    DeliveryOut,
    EventOut,
    RecoverIn,
    RecoverOut,
    SendResult,
)
from hookline.catalog import TOPICS
from hookline.domain.deliveries import DeliveryState
from hookline.domain.errors import (
    DeliveryInFlight,
    DeliveryNotFound,
    EventNotFound,
    InvalidInput,
    Unauthorized,
    WebhookNotFound,
)
from hookline.http.deps import SendDep
from hookline.services import deliveries

answers = Answers(Unauthorized, InvalidInput, STORAGE_UNAVAILABLE)
# Checked by the service (its codes: invalid_choice, unknown_topic, out_of_range); shown here.
STATES = [s.value for s in DeliveryState]
PAGE_SIZE = {"minimum": 1, "maximum": deliveries.MAX_PAGE_SIZE}
router = APIRouter(prefix="/v1", tags=["deliveries"], dependencies=[SafePath], responses=answers())


@router.get("/webhooks/{webhook_id}/deliveries", responses=answers(WebhookNotFound))
def list_deliveries(
    webhook_id: str,
    ctx: Ctx,
    token: PlatformToken,
    state: Annotated[str | None, Query(json_schema_extra={"enum": STATES})] = None,
    topic: Annotated[str | None, Query(json_schema_extra={"enum": list(TOPICS)})] = None,
    since: Annotated[Moment | None, Query()] = None,
    until: Annotated[Moment | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(json_schema_extra=PAGE_SIZE)] = deliveries.DEFAULT_PAGE_SIZE,
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


@router.post("/webhooks/{webhook_id}/recover", responses=answers(WebhookNotFound, *BODY))
def recover(webhook_id: str, body: RecoverIn, ctx: Ctx, token: PlatformToken) -> RecoverOut:
    """Requeue the failed deliveries created in [since, until) (until: now by default)."""
    count = deliveries.recover(ctx, token.platform_id, webhook_id, body.since, body.until)
    return RecoverOut(requeued=count)


@router.get("/deliveries/{delivery_id}", responses=answers(DeliveryNotFound))
def get_delivery(delivery_id: str, ctx: Ctx, token: PlatformToken) -> DeliveryDetail:
    d = deliveries.get_delivery(ctx, token.platform_id, delivery_id)
    return DeliveryDetail(
        **DeliveryOut.of(d).model_dump(), attempt_log=[AttemptOut.of(a) for a in d.attempt_log]
    )


@router.post(
    "/deliveries/{delivery_id}/resend", responses=answers(DeliveryNotFound, DeliveryInFlight)
)
async def resend(delivery_id: str, ctx: Ctx, send: SendDep, token: PlatformToken) -> SendResult:
    """One attempt now, with the same idempotency key and body."""
    sent = await deliveries.resend(ctx, send, token.platform_id, delivery_id)
    return SendResult.of(sent)


@router.get("/events/{event_id}", responses=answers(EventNotFound))
def get_event(event_id: str, ctx: Ctx, token: PlatformToken) -> EventOut:
    return EventOut.of(deliveries.get_event(ctx, token.platform_id, event_id))
