"""Producers' use case: accept events and turn each into deliveries, in one transaction.

The body a receiver gets is rendered here, once, and stored with the event: every
attempt then sends the very same bytes, which is what a MAAC receiver verifying over
the raw body (or over ``json.dumps`` output, as MAAC's snippet does) needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from hookline.catalog import TOPICS, validate_data
from hookline.domain import wire
from hookline.domain.deliveries import DeliveryState
from hookline.domain.errors import FieldError, HooklineError, InvalidInput, PayloadTooLarge
from hookline.domain.ids import new_id
from hookline.domain.models import Platform
from hookline.services.context import Context
from hookline.services.webhooks import zone_refusal
from hookline.store import events as store
from hookline.store import platforms as platform_store
from hookline.store import queue

MAX_EVENT_BYTES = 256 * 1024
MAX_BATCH = 1000
PRODUCER_ID_WINDOW = timedelta(hours=24)
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


@dataclass
class _Batch:
    """What one transaction learns once and reuses for every event of a batch."""

    platforms: dict[str, Platform | None]
    subscribers: dict[str, Mapping[str, list[str]]]
    events: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]


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


def _platform(conn: Connection, batch: _Batch, platform_id: str) -> Platform:
    if platform_id not in batch.platforms:
        batch.platforms[platform_id] = platform_store.get_platform(conn, platform_id)
        batch.subscribers[platform_id] = store.subscribers(conn, platform_id)
    platform = batch.platforms[platform_id]
    if platform is None:
        raise InvalidInput.single(
            "platform_id", "unknown_platform", f"platform_id '{platform_id}' names no platform."
        )
    return platform


def _accept(conn: Connection, batch: _Batch, item: IncomingEvent, now: datetime) -> Ingested:
    _check_shape(item)
    platform = _platform(conn, batch, item.platform_id)
    occurred_at = item.occurred_at or now
    body = wire.render_body(item.topic, item.data, occurred_at, platform.timezone)
    if len(body) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(
            f"The rendered event is {len(body)} bytes; at most {MAX_EVENT_BYTES} are delivered."
        )
    event_id = new_id("evt")
    if item.producer_id is not None:
        earlier = store.claim_producer_id(
            conn, platform.id, item.producer_id, event_id, now, now - PRODUCER_ID_WINDOW
        )
        if earlier is not None:
            return Ingested(earlier, _delivery_count(conn, batch, earlier), duplicate=True)
    batch.events.append(
        {
            "id": event_id,
            "platform_id": platform.id,
            "topic": item.topic,
            "producer_id": item.producer_id,
            "body": body,
            "occurred_at": occurred_at,
            "received_at": now,
            "is_test": False,
        }
    )
    webhook_ids = (
        []
        if zone_refusal(platform, item.topic, now)
        else batch.subscribers[platform.id].get(item.topic, [])
    )
    for webhook_id in webhook_ids:
        batch.deliveries.append(
            {
                "id": new_id("dlv"),
                "event_id": event_id,
                "webhook_id": webhook_id,
                "platform_id": platform.id,
                "topic": item.topic,
                "idempotency_key": wire.new_idempotency_key(),
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
    return Ingested(event_id, len(webhook_ids))


def _delivery_count(conn: Connection, batch: _Batch, event_id: str) -> int:
    if any(e["id"] == event_id for e in batch.events):
        return sum(1 for d in batch.deliveries if d["event_id"] == event_id)
    return store.count_deliveries(conn, event_id)


def ingest(ctx: Context, items: Sequence[IncomingEvent]) -> list[Ingested | HooklineError]:
    """Store each event and its deliveries; one result per item, in order.

    A refused item (bad data, unknown platform) changes nothing and does not stop the
    others. The whole batch commits at once, and the workers are woken after it.
    """
    if len(items) > MAX_BATCH:
        raise InvalidInput.single(
            "events", "too_many", f"events may hold at most {MAX_BATCH} items, not {len(items)}."
        )
    now = ctx.clock()
    batch = _Batch({}, {}, [], [])
    results: list[Ingested | HooklineError] = []
    with ctx.db.write() as conn:
        for item in items:
            try:
                results.append(_accept(conn, batch, item, now))
            except HooklineError as error:  # nothing of this item was written yet
                results.append(error)
        store.insert_events(conn, batch.events)
        store.insert_deliveries(conn, batch.deliveries)
        if batch.deliveries:
            queue.notify(conn)
    if batch.deliveries:
        ctx.wake_workers()
    return results


def ingest_one(ctx: Context, item: IncomingEvent) -> Ingested:
    (result,) = ingest(ctx, [item])
    if isinstance(result, HooklineError):
        raise result
    return result
