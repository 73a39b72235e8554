"""Opens, clicks, cached images, and the report of one message event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, distinct, func, insert, select
from sqlalchemy.exc import IntegrityError

from hookline.store.tables import cached_images, message_templates, push_clicks, push_opens, pushes


def record_open(conn: Connection, push_id: int, now: datetime) -> bool:
    """Whether this was the push's first open (False: it had been opened already).

    The primary key decides: of two concurrent first fetches only one insert succeeds.
    """
    exists = conn.execute(select(push_opens.c.push_id).where(push_opens.c.push_id == push_id))
    if exists.first() is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(push_opens).values(push_id=push_id, opened_at=now))
    except IntegrityError:
        return False
    return True


def record_click(conn: Connection, push_id: int, url: str, now: datetime) -> None:
    conn.execute(insert(push_clicks).values(push_id=push_id, url=url, clicked_at=now))


def cached_image(conn: Connection, url_hash: str) -> tuple[str, bytes] | None:
    row = conn.execute(
        select(cached_images.c.content_type, cached_images.c.body).where(
            cached_images.c.url_hash == url_hash
        )
    ).first()
    return None if row is None else (row.content_type, bytes(row.body))


def cache_image(
    conn: Connection, url_hash: str, content_type: str, body: bytes, now: datetime
) -> None:
    if cached_image(conn, url_hash) is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(cached_images).values(
                        url_hash=url_hash, content_type=content_type, body=body, fetched_at=now
                    )
                )
        except IntegrityError:
            pass  # another request cached the same bytes first


@dataclass(frozen=True)
class UrlClicks:
    url: str
    clicks: int
    unique_clicks: int


@dataclass(frozen=True)
class TemplateFigures:
    template_id: int
    name: str
    sent: int
    opens: int


@dataclass(frozen=True)
class Report:
    opens: int
    clicks: int
    unique_clicks: int
    urls: list[UrlClicks]
    messages: list[TemplateFigures]


def report(
    conn: Connection, platform_id: str, event_id: int, start: datetime, end: datetime
) -> Report:
    """Opens and clicks of the event's pushes that happened in ``[start, end)``."""
    of_event = (pushes.c.platform_id == platform_id) & (pushes.c.event_id == event_id)
    opens = conn.execute(
        select(func.count())
        .select_from(push_opens.join(pushes, pushes.c.id == push_opens.c.push_id))
        .where(of_event, push_opens.c.opened_at >= start, push_opens.c.opened_at < end)
    ).scalar_one()
    clicks_join = push_clicks.join(pushes, pushes.c.id == push_clicks.c.push_id)
    in_range = (push_clicks.c.clicked_at >= start) & (push_clicks.c.clicked_at < end)
    total_clicks, unique = conn.execute(
        select(func.count(), func.count(distinct(push_clicks.c.push_id)))
        .select_from(clicks_join)
        .where(of_event, in_range)
    ).one()
    urls = [
        UrlClicks(url=r.url, clicks=int(r.clicks), unique_clicks=int(r.unique))
        for r in conn.execute(
            select(
                push_clicks.c.url,
                func.count().label("clicks"),
                func.count(distinct(push_clicks.c.push_id)).label("unique"),
            )
            .select_from(clicks_join)
            .where(of_event, in_range)
            .group_by(push_clicks.c.url)
            .order_by(push_clicks.c.url)
        )
    ]
    return Report(int(opens), int(total_clicks), int(unique), urls, _by_template(conn, of_event))


def _by_template(conn: Connection, of_event: object) -> list[TemplateFigures]:
    """Per template pushed with the event: pushes made and pushes opened (all time)."""
    rows = conn.execute(
        select(
            pushes.c.template_id,
            message_templates.c.name,
            func.count().label("sent"),
            func.count(push_opens.c.push_id).label("opens"),
        )
        .select_from(
            pushes.outerjoin(push_opens, push_opens.c.push_id == pushes.c.id).outerjoin(
                message_templates, message_templates.c.id == pushes.c.template_id
            )
        )
        .where(of_event)  # type: ignore[arg-type]
        .group_by(pushes.c.template_id, message_templates.c.name)
        .order_by(pushes.c.template_id)
    )
    return [TemplateFigures(r.template_id, r.name or "", int(r.sent), int(r.opens)) for r in rows]


@dataclass(frozen=True)
class EventFigures:
    sent: int = 0
    opens: int = 0
    clicks: int = 0
    unique_clicks: int = 0


def figures_by_event(conn: Connection, platform_id: str) -> dict[int, EventFigures]:
    """Every event's pushes, opens and clicks (all time), in two grouped queries."""
    mine = (pushes.c.platform_id == platform_id) & pushes.c.event_id.is_not(None)
    sent = conn.execute(
        select(pushes.c.event_id, func.count(), func.count(push_opens.c.push_id))
        .select_from(pushes.outerjoin(push_opens, push_opens.c.push_id == pushes.c.id))
        .where(mine)
        .group_by(pushes.c.event_id)
    ).all()
    clicks = {
        event_id: (int(total), int(unique))
        for event_id, total, unique in conn.execute(
            select(pushes.c.event_id, func.count(), func.count(distinct(push_clicks.c.push_id)))
            .select_from(push_clicks.join(pushes, pushes.c.id == push_clicks.c.push_id))
            .where(mine)
            .group_by(pushes.c.event_id)
        )
    }
    return {
        event_id: EventFigures(int(n), int(opened), *clicks.get(event_id, (0, 0)))
        for event_id, n, opened in sent
    }
