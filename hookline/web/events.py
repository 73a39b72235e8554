"""The member's event log page ("Events"): every event of the platform with its deliveries.

Filters come from a URL a person edits: a value the log does not know is shown as an
error above an empty list, never a crash, and the form keeps what was typed.
"""

from __future__ import annotations

from datetime import date

from fastapi.responses import Response

from hookline.catalog import TOPICS
from hookline.domain.errors import InvalidInput
from hookline.domain.outcomes import EventOutcome
from hookline.services import event_log, platforms
from hookline.services.event_log import EventPage
from hookline.web.routing import dashboard_router
from hookline.web.view import MemberPage

router = dashboard_router()
PAGE_SIZE = 30


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.single(field, "invalid_date", f"{field} is not a date.") from None


@router.get("/events")
def events_page(
    view: MemberPage,
    topic: str | None = None,
    outcome: str | None = None,
    since: str | None = None,
    until: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
) -> Response:
    pid = view.platform_id
    view.timezone = platforms.get_platform(view.ctx, pid).timezone
    filters = {
        "topic": topic or "",
        "outcome": outcome or "",
        "since": since or "",
        "until": until or "",
        "q": q or "",
    }
    error = None
    page = EventPage([], None, {})
    try:
        wanted = event_log.event_filter(
            view.ctx,
            pid,
            topic=topic or None,
            outcome=outcome or None,
            since=_day(since, "since"),
            until=_day(until, "until"),
            q=q or None,
        )
        page = event_log.search(view.ctx, pid, wanted, cursor=cursor or None, limit=PAGE_SIZE)
    except InvalidInput as exc:
        error = view.t("events.bad_filter", field=exc.errors[0].field if exc.errors else "")
    more = {k: v for k, v in filters.items() if v} | {"cursor": page.next_cursor or ""}
    return view.render(
        "events/list.html",
        page=page,
        filters=filters,
        topics=TOPICS,
        outcomes=[o.value for o in EventOutcome],
        error=error,
        next_query=more,
    )
