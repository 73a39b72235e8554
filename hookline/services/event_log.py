"""The platform-wide event log ("Events", like Stripe's): search and page its events.

Each event comes with its deliveries and one outcome word (``domain.outcomes``); a
search term names an event id, a producer id or an idempotency key exactly. Read-only;
another platform's events are never found, whatever the filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from hookline.catalog import TOPICS
from hookline.domain.deliveries import Event
from hookline.domain.errors import InvalidInput
from hookline.domain.outcomes import EventOutcome, outcome_of
from hookline.services.context import Context
from hookline.services.paging import decode_cursor, encode_cursor
from hookline.services.platforms import get_platform
from hookline.services.validation import clean_moment, clean_text
from hookline.store import event_log as store

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_QUERY_LENGTH = 255


@dataclass(frozen=True)
class LoggedEvent:
    event: Event
    outcome: EventOutcome


@dataclass(frozen=True)
class EventPage:
    items: list[LoggedEvent]
    next_cursor: str | None
    webhook_names: dict[str, str]


def _outcome(value: str | None) -> EventOutcome | None:
    if value is None:
        return None
    try:
        return EventOutcome(value)
    except ValueError:
        choices = ", ".join(o.value for o in EventOutcome)
        raise InvalidInput.single(
            "outcome", "invalid_choice", f"outcome must be one of {choices}."
        ) from None


def _query(q: str | None) -> str | None:
    if q is None:
        return None
    cleaned = clean_text(q, "q").strip()
    if len(cleaned) > MAX_QUERY_LENGTH:
        raise InvalidInput.single(
            "q", "too_long", f"q must be at most {MAX_QUERY_LENGTH} characters."
        )
    return cleaned or None


def event_filter(
    ctx: Context,
    platform_id: str,
    *,
    topic: str | None = None,
    outcome: str | None = None,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    q: str | None = None,
) -> store.EventFilter:
    """The checked filter: unknown topic or outcome, bad text or times are 422s by field."""
    if topic is not None and topic not in TOPICS:
        raise InvalidInput.single("topic", "unknown_topic", f"topic '{topic}' is not known.")
    wanted = _outcome(outcome)
    text = _query(q)
    start = end = None
    if since is not None or until is not None:
        timezone = get_platform(ctx, platform_id).timezone
        start = clean_moment(since, timezone, "since")
        end = clean_moment(until, timezone, "until")
    return store.EventFilter(topic=topic, outcome=wanted, since=start, until=end, q=text)


def search(
    ctx: Context,
    platform_id: str,
    wanted: store.EventFilter,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> EventPage:
    """A page of the platform's events, newest first, and the cursor of the next one."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput.single(
            "limit", "out_of_range", f"limit must be between 1 and {MAX_PAGE_SIZE}."
        )
    before = decode_cursor(cursor, "evt_") if cursor else None
    with ctx.db.read() as conn:
        found = store.search_events(conn, platform_id, wanted, before_id=before, limit=limit + 1)
        page = found[:limit]
        ids = {d.webhook_id for e in page for d in e.deliveries}
        names = store.webhook_names(conn, platform_id, sorted(ids))
    more = len(found) > limit
    items = [LoggedEvent(e, outcome_of(d.state for d in e.deliveries)) for e in page]
    return EventPage(items, encode_cursor(page[-1].id) if more else None, names)
