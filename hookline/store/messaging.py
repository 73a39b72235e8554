"""Queries of the Open API: LINE channels, templates, message events and pushes.

Every read and write names its platform, so one platform's ids never reach another's
rows. Opens, clicks and the report are in ``store.tracking``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from hookline.store.tables import line_channels, message_events, message_templates, pushes


@dataclass(frozen=True)
class TemplateRow:
    id: int
    platform_id: str
    name: str
    messages: list[Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EventRow:
    id: int
    name: str
    archived: bool
    created_at: datetime


@dataclass(frozen=True)
class PushRow:
    id: int
    platform_id: str
    event_id: int | None
    line_uid: str
    customer_id: str | None
    images: list[str]
    links: list[str]


def sealed_channel(conn: Connection, platform_id: str) -> str | None:
    return conn.execute(
        select(line_channels.c.ciphertext).where(line_channels.c.platform_id == platform_id)
    ).scalar_one_or_none()


def set_channel(conn: Connection, platform_id: str, ciphertext: str, now: datetime) -> None:
    if sealed_channel(conn, platform_id) is None:
        conn.execute(
            insert(line_channels).values(
                platform_id=platform_id, ciphertext=ciphertext, updated_at=now
            )
        )
    else:
        conn.execute(
            update(line_channels)
            .where(line_channels.c.platform_id == platform_id)
            .values(ciphertext=ciphertext, updated_at=now)
        )


def channel_updated_at(conn: Connection, platform_id: str) -> datetime | None:
    return conn.execute(
        select(line_channels.c.updated_at).where(line_channels.c.platform_id == platform_id)
    ).scalar_one_or_none()


def _template(row: Any) -> TemplateRow:
    return TemplateRow(
        id=row.id,
        platform_id=row.platform_id,
        name=row.name,
        messages=json.loads(row.messages),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def insert_template(
    conn: Connection, platform_id: str, name: str, messages: list[Any], now: datetime
) -> int:
    result = conn.execute(
        insert(message_templates)
        .values(
            platform_id=platform_id,
            name=name,
            messages=json.dumps(messages, ensure_ascii=False),
            created_at=now,
            updated_at=now,
        )
        .returning(message_templates.c.id)
    )
    return int(result.scalar_one())


def _live_templates(platform_id: str) -> Any:
    return select(message_templates).where(
        message_templates.c.platform_id == platform_id, message_templates.c.deleted_at.is_(None)
    )


def get_template(conn: Connection, platform_id: str, template_id: int) -> TemplateRow | None:
    row = conn.execute(
        _live_templates(platform_id).where(message_templates.c.id == template_id)
    ).first()
    return None if row is None else _template(row)


def list_templates(conn: Connection, platform_id: str) -> list[TemplateRow]:
    rows = conn.execute(_live_templates(platform_id).order_by(message_templates.c.id)).all()
    return [_template(r) for r in rows]


def update_template(
    conn: Connection, platform_id: str, template_id: int, now: datetime, **values: object
) -> None:
    if "messages" in values:
        values["messages"] = json.dumps(values["messages"], ensure_ascii=False)
    conn.execute(
        update(message_templates)
        .where(
            message_templates.c.platform_id == platform_id, message_templates.c.id == template_id
        )
        .values(updated_at=now, **values)
    )


def delete_template(conn: Connection, platform_id: str, template_id: int, now: datetime) -> bool:
    result = conn.execute(
        update(message_templates)
        .where(
            message_templates.c.platform_id == platform_id,
            message_templates.c.id == template_id,
            message_templates.c.deleted_at.is_(None),
        )
        .values(deleted_at=now)
    )
    return result.rowcount == 1


def count_events(conn: Connection, platform_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(message_events)
            .where(message_events.c.platform_id == platform_id)
        ).scalar_one()
    )


def insert_event(conn: Connection, platform_id: str, name: str, now: datetime) -> int:
    result = conn.execute(
        insert(message_events)
        .values(platform_id=platform_id, name=name, archived=False, created_at=now)
        .returning(message_events.c.id)
    )
    return int(result.scalar_one())


def _event(row: Any) -> EventRow:
    return EventRow(id=row.id, name=row.name, archived=row.archived, created_at=row.created_at)


def get_event(conn: Connection, platform_id: str, event_id: int) -> EventRow | None:
    row = conn.execute(
        select(message_events).where(
            message_events.c.platform_id == platform_id, message_events.c.id == event_id
        )
    ).first()
    return None if row is None else _event(row)


def list_events(
    conn: Connection, platform_id: str, *, name: str | None, start: int | None, limit: int
) -> list[EventRow]:
    """Oldest first from ``start`` (an id, inclusive); ``limit`` rows at most."""
    query = select(message_events).where(message_events.c.platform_id == platform_id)
    if name:
        query = query.where(message_events.c.name.contains(name, autoescape=True))
    if start is not None:
        query = query.where(message_events.c.id >= start)
    rows = conn.execute(query.order_by(message_events.c.id).limit(limit)).all()
    return [_event(r) for r in rows]


def insert_push(conn: Connection, **values: Any) -> int:
    values["images"] = json.dumps(values["images"], ensure_ascii=False)
    values["links"] = json.dumps(values["links"], ensure_ascii=False)
    return int(conn.execute(insert(pushes).values(**values).returning(pushes.c.id)).scalar_one())


def set_push_result(conn: Connection, push_id: int, result: str) -> None:
    conn.execute(update(pushes).where(pushes.c.id == push_id).values(result=result))


def push_by_token(conn: Connection, token: str) -> PushRow | None:
    row = conn.execute(select(pushes).where(pushes.c.token == token)).first()
    if row is None:
        return None
    return PushRow(
        id=row.id,
        platform_id=row.platform_id,
        event_id=row.event_id,
        line_uid=row.line_uid,
        customer_id=row.customer_id,
        images=json.loads(row.images),
        links=json.loads(row.links),
    )
