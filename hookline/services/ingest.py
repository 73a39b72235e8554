"""Producers' use case: accept events and turn each into deliveries, in one transaction.

The body a receiver gets is rendered here, once, and stored with the event: every
attempt then sends the very same bytes, which is what a MAAC receiver verifying over
the raw body (or over ``json.dumps`` output, as MAAC's snippet does) needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hookline.catalog import TOPICS, validate_data
from hookline.domain import wire
from hookline.domain.errors import FieldError, HooklineError, InvalidInput, PayloadTooLarge
from hookline.domain.ids import new_ids
from hookline.domain.models import Platform
from hookline.services.context import Context
from hookline.services.webhooks import zone_refusal
from hookline.store import ingest as store
from hookline.store import platforms as platform_store
from hookline.store import queue
from hookline.store.retention import INGEST_KEY_WINDOW

MAX_EVENT_BYTES = 256 * 1024
MAX_BATCH = 1000
PRODUCER_ID_WINDOW = INGEST_KEY_WINDOW
MAX_PRODUCER_ID = 255


@dataclass(frozen=True)
class IncomingEvent:
    platform_id: str
    topic: str
    data: Mapping[str, Any]
    producer_id: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Ingested:
    event_id: str
    deliveries: int
    duplicate: bool = False


@dataclass(frozen=True)
class _Ready:
    """An item that passed every check, rendered, waiting for its transaction."""

    index: int
    platform: Platform
    item: IncomingEvent
    body: bytes
    occurred_at: datetime


def _check_shape(item: IncomingEvent) -> None:
    errors: list[FieldError] = []
    topic = TOPICS.get(item.topic)
    if topic is None:
        errors.append(
            FieldError(
                "topic", "unknown_topic", f"topic '{item.topic}' is not a known event topic."
            )
        )
    else:
        for path, message in validate_data(topic, item.data):
            field = "data" + path.removeprefix("$")
            errors.append(FieldError(field, "schema", f"{field}: {message}"))
    if item.producer_id is not None and not 1 <= len(item.producer_id) <= MAX_PRODUCER_ID:
        errors.append(
            FieldError(
                "id", "invalid_length", f"id must be 1 to {MAX_PRODUCER_ID} characters long."
            )
        )
    if item.occurred_at is not None and item.occurred_at.tzinfo is None:
        errors.append(
            FieldError("occurred_at", "naive_datetime", "occurred_at must carry a UTC offset.")
        )
    if errors:
        raise InvalidInput(errors)


def _prepare(item: IncomingEvent, platform: Platform | None, index: int, now: datetime) -> _Ready:
    """Every check that needs no lock: schema, platform, size; and the rendering."""
    _check_shape(item)
    if platform is None:
        raise InvalidInput.single(
            "platform_id",
            "unknown_platform",
            f"platform_id '{item.platform_id}' names no platform.",
        )
    occurred_at = item.occurred_at or now
    body = wire.render_body(item.topic, item.data, occurred_at, platform.timezone)
    if len(body) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(
            f"The rendered event is {len(body)} bytes; at most {MAX_EVENT_BYTES} are delivered."
        )
    return _Ready(index, platform, item, body, occurred_at)


def _load_platforms(ctx: Context, items: Sequence[IncomingEvent]) -> dict[str, Platform | None]:
    with ctx.db.read() as conn:
        return {
            pid: platform_store.get_platform(conn, pid) for pid in {i.platform_id for i in items}
        }


def ingest(ctx: Context, items: Sequence[IncomingEvent]) -> list[Ingested | HooklineError]:
    """Store each event and its deliveries; one result per item, in order.

    A refused item (bad data, unknown platform) changes nothing and does not stop the
    others. Checks and rendering happen before the write transaction, so the write
    lock (SQLite's single writer) is held only for a few bulk statements; the whole
    batch commits at once, and the workers are woken after it.
    """
    if len(items) > MAX_BATCH:
        raise InvalidInput.single(
            "events", "too_many", f"events may hold at most {MAX_BATCH} items, not {len(items)}."
        )
    now = ctx.clock()
    platforms = _load_platforms(ctx, items)
    results: list[Ingested | HooklineError | None] = [None] * len(items)
    ready: list[_Ready] = []
    for index, item in enumerate(items):
        try:
            ready.append(_prepare(item, platforms[item.platform_id], index, now))
        except HooklineError as error:
            results[index] = error
    created = 0
    with ctx.db.write() as conn:
        for platform_id in sorted({r.platform.id for r in ready}):
            mine = [r for r in ready if r.platform.id == platform_id]
            created += _store(conn, mine, results, now)
        if created:
            queue.notify(conn)
    if created:
        ctx.wake_workers()
    return [r for r in results if r is not None]


def _store(
    conn: Connection,
    ready: Sequence[_Ready],
    results: list[Ingested | HooklineError | None],
    now: datetime,
) -> int:
    """Write one platform's accepted events and their deliveries; answers deliveries made."""
    platform = ready[0].platform  # platforms are never deleted; zones read just before
    subscribers = store.subscribers(conn, platform.id)
    event_ids = new_ids("evt", len(ready))
    first_of: dict[str, str] = {}  # producer id -> event id, first occurrence in this batch
    for r, event_id in zip(ready, event_ids, strict=True):
        if r.item.producer_id is not None:
            first_of.setdefault(r.item.producer_id, event_id)
    earlier = store.claim_producer_ids(conn, platform.id, first_of, now, now - PRODUCER_ID_WINDOW)
    events: list[dict[str, Any]] = []
    targets: list[tuple[str, str, str]] = []  # (event id, webhook id, topic)
    fresh: dict[str, int] = {}
    duplicates: list[tuple[int, str]] = []
    for r, event_id in zip(ready, event_ids, strict=True):
        producer_id = r.item.producer_id
        if producer_id is not None:
            first = earlier.get(producer_id) or first_of[producer_id]
            if first != event_id:
                duplicates.append((r.index, first))
                continue
        topic = r.item.topic
        webhooks = [] if zone_refusal(platform, topic, now) else subscribers.get(topic, [])
        events.append(
            store.event_row(
                event_id=event_id,
                platform_id=platform.id,
                topic=topic,
                producer_id=producer_id,
                body=r.body,
                occurred_at=r.occurred_at,
                received_at=now,
            )
        )
        targets.extend((event_id, w, topic) for w in webhooks)
        fresh[event_id] = len(webhooks)
        results[r.index] = Ingested(event_id, len(webhooks))
    delivery_ids = new_ids("dlv", len(targets))
    keys = wire.new_idempotency_keys(len(targets))
    store.insert_events(conn, events)
    store.insert_deliveries(
        conn,
        [
            store.delivery_row(
                delivery_id=delivery_id,
                event_id=event_id,
                webhook_id=webhook_id,
                platform_id=platform.id,
                topic=topic,
                idempotency_key=key,
                now=now,
            )
            for delivery_id, key, (event_id, webhook_id, topic) in zip(
                delivery_ids, keys, targets, strict=True
            )
        ],
    )
    counts = store.count_deliveries_of(conn, [e for _, e in duplicates if e not in fresh])
    for index, event_id in duplicates:
        results[index] = Ingested(
            event_id, fresh.get(event_id, counts.get(event_id, 0)), duplicate=True
        )
    return len(targets)


def ingest_one(ctx: Context, item: IncomingEvent) -> Ingested:
    (result,) = ingest(ctx, [item])
    if isinstance(result, HooklineError):
        raise result
    return result
