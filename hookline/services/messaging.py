"""Engineers' Open API use cases: message events, pushes through LINE, event reports.

A push is recorded before LINE is called, with its own ``X-Line-Retry-Key``: a push
retried after a timeout carries the same key, and LINE accepts it at most once.
What the request's caller gets back is MAAC's ``result``: ``success``, ``timeout``,
``error``, or LINE's own message when LINE refused the messages.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from hookline.domain.errors import (
    FieldError,
    HooklineError,
    InvalidInput,
    ZoneExpired,
    ZoneNotPurchased,
)
from hookline.domain.line_messages import Tracked, clean_params, fill, placeholders
from hookline.domain.messaging import (
    EVENT_PAGE_SIZE,
    LINE_UID,
    MAX_EVENTS_PER_PLATFORM,
    EventLimitReached,
    FetchedImage,
    LineChannelMissing,
    LinePushOutcome,
    MessageEventNotFound,
    PushResult,
    TemplateNotFound,
)
from hookline.domain.models import Platform
from hookline.domain.ratelimit import MAAC_OPENAPI_RATE, RateLimiter
from hookline.domain.zones import OPENAPI_PUSH_ZONE, ZoneValidity, zone_validity
from hookline.services.context import Context
from hookline.services.platforms import get_platform, lock_platform
from hookline.services.templates import line_channel_token
from hookline.services.validation import clean_name
from hookline.store import messaging as store
from hookline.store import tracking
from hookline.store.messaging import EventRow


class LineApi(Protocol):
    """What the Open API needs of the outside: LINE's push call and image fetches."""

    async def push(
        self, channel_token: str, to: str, messages: list[Any], retry_key: str
    ) -> LinePushOutcome: ...

    async def fetch_image(self, url: str) -> FetchedImage | None: ...


@dataclass
class Messaging:
    """The Open API's wiring: the LINE client, the public address, the rate limiter."""

    line: LineApi
    public_url: str
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(MAAC_OPENAPI_RATE))

    def image_url(self, token: str, slot: int) -> str:
        return f"{self.public_url.rstrip('/')}/t/o/{token}/{slot}"

    def link_url(self, token: str, slot: int) -> str:
        return f"{self.public_url.rstrip('/')}/t/c/{token}/{slot}"


@dataclass(frozen=True)
class EventPage:
    items: list[EventRow]
    next: int | None


def create_event(ctx: Context, platform_id: str, name: str) -> EventRow:
    name = clean_name(name)
    with ctx.db.write() as conn:
        lock_platform(ctx, conn, platform_id)
        if store.count_events(conn, platform_id) >= MAX_EVENTS_PER_PLATFORM:
            raise EventLimitReached("The number of events has reached the limit")
        event_id = store.insert_event(conn, platform_id, name, ctx.clock())
        row = store.get_event(conn, platform_id, event_id)
    assert row is not None
    return row


def get_event(ctx: Context, platform_id: str, event_id: int) -> EventRow:
    with ctx.db.read() as conn:
        row = store.get_event(conn, platform_id, event_id)
    if row is None:
        raise MessageEventNotFound(f"No message event has the id {event_id}.")
    return row


def list_events(
    ctx: Context, platform_id: str, *, name: str | None = None, start: int | None = None
) -> EventPage:
    if name:
        name = clean_name(name)
    with ctx.db.read() as conn:
        rows = store.list_events(
            conn, platform_id, name=name, start=start, limit=EVENT_PAGE_SIZE + 1
        )
    more = len(rows) > EVENT_PAGE_SIZE
    return EventPage(rows[:EVENT_PAGE_SIZE], rows[EVENT_PAGE_SIZE].id if more else None)


@dataclass(frozen=True)
class PushRequest:
    template_id: int
    event_id: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Pushed:
    id: int
    event_id: int | None
    outcome: LinePushOutcome


def zone_error(platform: Platform, now: datetime) -> HooklineError | None:
    """Why this platform may not push through the Open API now (zone 3), or None."""
    purchase = platform.zone(OPENAPI_PUSH_ZONE)
    validity = zone_validity(purchase, now)
    if validity is ZoneValidity.NOT_PURCHASED:
        return ZoneNotPurchased(
            f"Pushes belong to zone {OPENAPI_PUSH_ZONE}, which this platform has not purchased.",
            zone=OPENAPI_PUSH_ZONE,
        )
    if validity is ZoneValidity.EXPIRED:
        assert purchase is not None
        return ZoneExpired(
            f"Pushes belong to zone {OPENAPI_PUSH_ZONE}, whose purchase was valid until"
            f" {purchase.valid_until.isoformat()}.",
            zone=OPENAPI_PUSH_ZONE,
            valid_until=purchase.valid_until.isoformat(),
        )
    return None


def _check_push(platform: Platform, request: PushRequest, now: datetime) -> dict[str, str]:
    error = zone_error(platform, now)
    if error is not None:
        raise error
    line_uid = request.data.get("line_uid")
    if not isinstance(line_uid, str) or LINE_UID.fullmatch(line_uid) is None:
        raise InvalidInput.single(
            "data.line_uid", "invalid", "data.line_uid must be U followed by 32 hex characters."
        )
    values, errors = clean_params(request.data)
    if errors:
        raise InvalidInput(errors)
    return values


def _tracked(
    messaging: Messaging, messages: list[Any], values: dict[str, str], token: str
) -> Tracked:
    missing = sorted(placeholders(messages) - set(values))
    if missing:
        raise InvalidInput(
            [FieldError(f"data.{m}", "required", f"data.{m} fills {{{{{m}}}}}.") for m in missing]
        )
    return Tracked.of(
        fill(messages, values),
        lambda slot: messaging.image_url(token, slot),
        lambda slot: messaging.link_url(token, slot),
    )


@dataclass(frozen=True)
class _Prepared:
    push_id: int
    channel_token: str
    to: str
    messages: list[Any]


def _prepare(
    ctx: Context, messaging: Messaging, platform_id: str, request: PushRequest
) -> _Prepared:
    """Every check, then the push recorded (``pending``) with its tracked messages."""
    platform = get_platform(ctx, platform_id)
    values = _check_push(platform, request, ctx.clock())
    with ctx.db.read() as conn:
        template = store.get_template(conn, platform_id, request.template_id)
        event = (
            None
            if request.event_id is None
            else store.get_event(conn, platform_id, request.event_id)
        )
    if template is None:
        raise TemplateNotFound(f"No template has the id {request.template_id}.")
    if request.event_id is not None and event is None:
        raise MessageEventNotFound(f"No message event has the id {request.event_id}.")
    channel_token = line_channel_token(ctx, platform_id)
    if channel_token is None:
        raise LineChannelMissing("No LINE channel is connected: PUT /v1/platform/line first.")
    token = secrets.token_urlsafe(24)
    tracked = _tracked(messaging, template.messages, values, token)
    with ctx.db.write() as conn:
        push_id = store.insert_push(
            conn,
            platform_id=platform_id,
            template_id=template.id,
            event_id=request.event_id,
            line_uid=values["line_uid"],
            customer_id=values.get("customer_id"),
            token=token,
            result="pending",
            images=tracked.images,
            links=tracked.links,
            created_at=ctx.clock(),
        )
    return _Prepared(push_id, channel_token, values["line_uid"], tracked.messages)


def _record_result(ctx: Context, push_id: int, result: str) -> None:
    with ctx.db.write() as conn:
        store.set_push_result(conn, push_id, result)


async def push(
    ctx: Context, messaging: Messaging, platform_id: str, request: PushRequest
) -> Pushed:
    """Send the template to one LINE friend, tracked; record it whatever LINE answers.

    The database work runs in worker threads, so the event loop keeps serving other
    pushes (up to 170 a second per platform) while one waits on the database or LINE.
    """
    ready = await asyncio.to_thread(_prepare, ctx, messaging, platform_id, request)
    outcome = await _send(messaging, ready.channel_token, ready.to, ready.messages)
    await asyncio.to_thread(_record_result, ctx, ready.push_id, outcome.result)
    return Pushed(ready.push_id, request.event_id, outcome)


async def _send(
    messaging: Messaging, channel_token: str, to: str, messages: list[Any]
) -> LinePushOutcome:
    """One push, tried again once after a timeout with the same retry key."""
    retry_key = str(uuid.uuid4())
    outcome = await messaging.line.push(channel_token, to, messages, retry_key)
    if outcome.result == PushResult.TIMEOUT:
        outcome = await messaging.line.push(channel_token, to, messages, retry_key)
    return outcome


@dataclass(frozen=True)
class EventReport:
    event_id: int
    report: tracking.Report


def clean_date(value: str, field: str) -> date:
    """A YYYY-MM-DD date from 1970 to 9998 (the range every stored time lies in)."""
    try:
        found = date.fromisoformat(value) if len(value) == 10 and value.isascii() else None
    except ValueError:
        found = None
    if found is None or not 1970 <= found.year <= 9998:
        raise InvalidInput.single(field, "invalid_date", f"{field} must be a date YYYY-MM-DD.")
    return found


def report(
    ctx: Context, platform_id: str, event_id: int, start_date: str, end_date: str
) -> EventReport:
    """Opens and clicks from ``start_date`` to ``end_date`` (both included), platform time."""
    first, last = clean_date(start_date, "start_date"), clean_date(end_date, "end_date")
    if last < first:
        raise InvalidInput.single(
            "end_date", "before_start", "end_date must not be before start_date."
        )
    platform = get_platform(ctx, platform_id)
    zone = ZoneInfo(platform.timezone)
    start = datetime.combine(first, time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)
    get_event(ctx, platform_id, event_id)
    with ctx.db.read() as conn:
        figures = tracking.report(conn, platform_id, event_id, start, end)
    return EventReport(event_id, figures)


@dataclass(frozen=True)
class EventSummary:
    event: EventRow
    figures: tracking.EventFigures


def event_summaries(ctx: Context, platform_id: str) -> list[EventSummary]:
    """Every message event of the platform, newest first, with its opens and clicks."""
    with ctx.db.read() as conn:
        rows = store.list_events(
            conn, platform_id, name=None, start=None, limit=MAX_EVENTS_PER_PLATFORM
        )
        figures = tracking.figures_by_event(conn, platform_id)
    empty = tracking.EventFigures()
    return [EventSummary(row, figures.get(row.id, empty)) for row in reversed(rows)]
