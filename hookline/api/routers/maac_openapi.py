"""MAAC's Open API calls around first opens: message events, push, report.

Paths, bodies and answers are MAAC's (docs/openapi.md); errors are answered by the
mounted app in ``hookline.api.maac``. Every call is authenticated with the platform's
API token and counted against its 170 requests a second.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from hookline.api.deps import Credentials, bearer_token
from hookline.api.schemas.messaging import MAX_ID, EventIn, PushIn
from hookline.domain.messaging import PushResult, RateLimited
from hookline.domain.models import ApiToken
from hookline.http.deps import Ctx, get_wiring
from hookline.services import messaging, platforms
from hookline.services.messaging import Messaging
from hookline.store.messaging import EventRow

router = APIRouter()
EventId = Annotated[int, Path(ge=1, le=MAX_ID)]


def get_messaging(request: Request) -> Messaging:
    found = get_wiring(request).messaging
    if found is None:
        raise RuntimeError("the Open API was mounted without its messaging wiring")
    return found


def open_api_caller(request: Request, ctx: Ctx, credentials: Credentials) -> ApiToken:
    """The platform calling, within its request budget (else 429 with Retry-After)."""
    token = platforms.authenticate(ctx, bearer_token(credentials))
    wait = get_messaging(request).limiter.take(token.platform_id)
    if wait is not None:
        raise RateLimited(wait)
    return token


Caller = Annotated[ApiToken, Depends(open_api_caller)]
MessagingDep = Annotated[Messaging, Depends(get_messaging)]


def _event(row: EventRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "archived": row.archived,
        "name": row.name,
        "created_at": row.created_at.isoformat(),
    }


@router.post("/event/", status_code=201)
def create_event(body: EventIn, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    row = messaging.create_event(ctx, caller.platform_id, body.name)
    return {"id": row.id, "name": row.name}


@router.get("/event/")
def list_events(
    ctx: Ctx,
    caller: Caller,
    name: Annotated[str | None, Query()] = None,
    start: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    page = messaging.list_events(ctx, caller.platform_id, name=name, start=start)
    return {"results": [_event(r) for r in page.items], "next": page.next}


@router.get("/event/{event_id}/")
def get_event(event_id: EventId, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    return _event(messaging.get_event(ctx, caller.platform_id, event_id))


@router.get("/event/{event_id}/report/")
def event_report(
    event_id: EventId,
    ctx: Ctx,
    caller: Caller,
    start_date: Annotated[str, Query()],
    end_date: Annotated[str, Query()],
) -> dict[str, Any]:
    found = messaging.report(ctx, caller.platform_id, event_id, start_date, end_date)
    figures = found.report
    total = {
        "opens": figures.opens,
        "clicks": figures.clicks,
        "unique_clicks": figures.unique_clicks,
        "adds_to_cart": 0,  # conversions are not tracked by hookline (docs/openapi.md)
        "transactions": 0,
        "transaction_revenue": 0,
    }
    return {
        "id": found.event_id,
        "report": {
            "total": total,
            "urls": [
                {"url": u.url, "clicks": u.clicks, "unique_clicks": u.unique_clicks}
                for u in figures.urls
            ],
            "messages": [
                {"template_id": m.template_id, "name": m.name, "sent": m.sent, "opens": m.opens}
                for m in figures.messages
            ],
        },
    }


@router.post("/direct_message/push/")
async def push(body: PushIn, ctx: Ctx, caller: Caller, line: MessagingDep) -> dict[str, Any]:
    request = messaging.PushRequest(body.template_id, body.event_id, body.data)
    pushed = await messaging.push(ctx, line, caller.platform_id, request)
    outcome = pushed.outcome
    result: Any = outcome.result
    if outcome.result == PushResult.REFUSED:
        result = {"message": outcome.message, "details": outcome.details}
    return {"id": pushed.id, "event_id": pushed.event_id, "result": result}
