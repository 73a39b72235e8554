"""The delivery log of a platform: deliveries, attempts, events; resend, recover."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hookline.api.deps import Ctx, PlatformToken
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
from hookline.http.deps import SendDep
from hookline.services import deliveries

router = APIRouter(prefix="/v1", tags=["deliveries"], dependencies=[SafePath])


@router.get("/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: str,
    ctx: Ctx,
    token: PlatformToken,
    state: Annotated[str | None, Query()] = None,
    topic: Annotated[str | None, Query()] = None,
    since: Annotated[Moment | None, Query()] = None,
    until: Annotated[Moment | None, Query()] = None,
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
