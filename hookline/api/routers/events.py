"""The platform-wide event log: ``GET /v1/events``, filtered, searched, cursor-paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hookline.api.deps import Ctx, PlatformToken
from hookline.api.openapi import STORAGE_UNAVAILABLE, Answers
from hookline.api.schemas.common import SAFE_PATTERN, Moment
from hookline.api.schemas.events import EventLog, LoggedEventOut
from hookline.catalog import TOPICS
from hookline.domain.errors import InvalidInput, Unauthorized
from hookline.domain.outcomes import EventOutcome
from hookline.services import event_log

answers = Answers(Unauthorized, InvalidInput, STORAGE_UNAVAILABLE)
router = APIRouter(prefix="/v1", tags=["events"], responses=answers())
# Checked by the service (codes unknown_topic, invalid_choice, out_of_range); shown here.
PAGE_SIZE = {"minimum": 1, "maximum": event_log.MAX_PAGE_SIZE}
OUTCOMES = {"enum": [o.value for o in EventOutcome]}


@router.get("/events")
def list_events(
    ctx: Ctx,
    token: PlatformToken,
    topic: Annotated[str | None, Query(json_schema_extra={"enum": list(TOPICS)})] = None,
    outcome: Annotated[str | None, Query(json_schema_extra=OUTCOMES)] = None,
    since: Annotated[Moment | None, Query()] = None,
    until: Annotated[Moment | None, Query()] = None,
    q: Annotated[
        str | None,
        Query(
            description="An event id, a producer id or an idempotency key, matched exactly.",
            json_schema_extra={"maxLength": event_log.MAX_QUERY_LENGTH, "pattern": SAFE_PATTERN},
        ),
    ] = None,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(json_schema_extra=PAGE_SIZE)] = event_log.DEFAULT_PAGE_SIZE,
) -> EventLog:
    """The platform's events, newest first by arrival, each with its deliveries."""
    wanted = event_log.event_filter(
        ctx, token.platform_id, topic=topic, outcome=outcome, since=since, until=until, q=q
    )
    page = event_log.search(ctx, token.platform_id, wanted, cursor=cursor, limit=limit)
    return EventLog(data=[LoggedEventOut.of(e) for e in page.items], next_cursor=page.next_cursor)
