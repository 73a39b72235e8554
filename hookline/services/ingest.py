"""Producers' use case: accept events and turn each into deliveries, in one transaction.

The body a receiver gets is rendered here, once, and stored with the event: every
attempt then sends the very same bytes, which is what a MAAC receiver verifying over
the raw body (or over ``json.dumps`` output, as MAAC's snippet does) needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hookline import metrics
from hookline.catalog import TOPICS, validate_data
from hookline.domain import controls, wire
from hookline.domain.controls import Filter
from hookline.domain.errors import FieldError, HooklineError, InvalidInput, PayloadTooLarge
from hookline.domain.ids import new_ids
from hookline.domain.models import Platform
from hookline.domain.text import data_refusal, instant_refusal, text_refusal
from hookline.services.context import Context
from hookline.services.webhooks import zone_refusal
from hookline.store import filters as filter_store
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


def _unsafe_fields(item: IncomingEvent) -> list[FieldError]:
    """What neither backend may store or no receiver could parse (domain.text's rules)."""
    errors: list[FieldError] = []
    named = {"platform_id": item.platform_id, "topic": item.topic, "id": item.producer_id}
    for field, value in named.items():
        refusal = None if value is None else text_refusal(value)
        if refusal is not None:
            errors.append(FieldError(field, refusal.code, refusal.message(field)))
    found = data_refusal(item.data)
    if found is not None:
        field = "data" + found[0].removeprefix("$")
        errors.append(FieldError(field, found[1].code, found[1].message(field)))
    if item.occurred_at is not None and item.occurred_at.tzinfo is None:
        errors.append(
            FieldError("occurred_at", "naive_datetime", "occurred_at must carry a UTC offset.")
        )
    elif item.occurred_at is not None and (refusal := instant_refusal(item.occurred_at)):
        errors.append(FieldError("occurred_at", refusal.code, refusal.message("occurred_at")))
    return errors


def _check_shape(item: IncomingEvent) -> None:
    errors = _unsafe_fields(item)
    if errors:  # the checks below echo or walk these values: they must be safe first
        raise InvalidInput(errors)
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


def _prepare_all(
    conn: Connection,
    items: Sequence[IncomingEvent],
    results: list[Ingested | HooklineError | None],
    now: datetime,
) -> list[_Ready]:
    """The items that pass every check, rendered; a refused one's error goes in ``results``."""
    platforms = {  # an unsafe id names no platform, and PostgreSQL could not even compare it
        pid: None if text_refusal(pid) else platform_store.get_platform(conn, pid)
        for pid in {i.platform_id for i in items}
    }
    ready: list[_Ready] = []
    for index, item in enumerate(items):
        try:
            ready.append(_prepare(item, platforms[item.platform_id], index, now))
        except HooklineError as error:
            results[index] = error
    return ready


def _store_all(
    conn: Connection,
    ready: Sequence[_Ready],
    results: list[Ingested | HooklineError | None],
    now: datetime,
) -> int:
    """Every platform's accepted events, in platform order; answers deliveries made."""
    created = 0
    for platform_id in sorted({r.platform.id for r in ready}):
        created += _store(conn, [r for r in ready if r.platform.id == platform_id], results, now)
    if created:
        queue.notify(conn)
    return created


def ingest(ctx: Context, items: Sequence[IncomingEvent]) -> list[Ingested | HooklineError]:
    """Store each event and its deliveries; one result per item, in order.

    A refused item (bad data, unknown platform) changes nothing and does not stop the
    others. On SQLite checks and rendering happen before the write transaction, so its
    single write lock is held only for a few bulk statements; on PostgreSQL, which
    locks rows, they happen inside it, one transaction where two cost a check-out, a
    ping and a commit more. The whole batch commits at once, and the workers are woken
    after it.
    """
    if len(items) > MAX_BATCH:
        raise InvalidInput.single(
            "events", "too_many", f"events may hold at most {MAX_BATCH} items, not {len(items)}."
        )
    now = ctx.clock()
    results: list[Ingested | HooklineError | None] = [None] * len(items)
    if ctx.db.single_writer:  # the write lock is held for the writes alone
        with ctx.db.read() as conn:
            ready = _prepare_all(conn, items, results, now)
        with ctx.db.write() as conn:
            created = _store_all(conn, ready, results, now)
    else:  # row locks: one transaction saves a connection check-out and a commit
        with ctx.db.write() as conn:
            created = _store_all(conn, _prepare_all(conn, items, results, now), results, now)
    if created:
        ctx.wake_workers()
    done = [r for r in results if r is not None]
    metrics.record_ingested(_outcomes(items, done), created)
    return done


def _outcomes(
    items: Sequence[IncomingEvent], results: Sequence[Ingested | HooklineError]
) -> list[tuple[str, str]]:
    """(topic, outcome) per item, for the ingest counters."""
    return [(item.topic, _outcome(r)) for item, r in zip(items, results, strict=True)]


def _outcome(result: Ingested | HooklineError) -> str:
    if isinstance(result, HooklineError):
        return "refused"
    return "duplicate" if result.duplicate else "accepted"


def _store(
    conn: Connection,
    ready: Sequence[_Ready],
    results: list[Ingested | HooklineError | None],
    now: datetime,
) -> int:
    """Write one platform's accepted events and their deliveries; answers deliveries made."""
    platform = ready[0].platform  # platforms are never deleted; zones read just before
    found = store.targets(conn, platform.id, now)
    subscribers, controls_now = found.subscribers, found.controls
    filters = controls_now.filters
    filtered: Counter[str] = Counter()
    event_ids = new_ids("evt", len(ready))
    first_event = _first_events(conn, platform.id, ready, event_ids, now)
    events: list[dict[str, Any]] = []
    targets: list[tuple[str, str, str]] = []  # (event id, webhook id, topic)
    fresh: dict[str, int] = {}
    duplicates: list[tuple[int, str]] = []
    for r, event_id in zip(ready, event_ids, strict=True):
        producer_id = r.item.producer_id
        if producer_id is not None and first_event[producer_id] != event_id:
            duplicates.append((r.index, first_event[producer_id]))
            continue
        topic = r.item.topic
        webhooks = [] if zone_refusal(platform, topic, now) else subscribers.get(topic, [])
        if filters:
            webhooks = _filtered(webhooks, filters, r.item.data, filtered)
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
    store.insert_events(conn, events)
    _insert_deliveries(conn, platform.id, targets, now, controls_now)
    filter_store.count_filtered(conn, filtered)
    counts = store.count_deliveries_of(conn, [e for _, e in duplicates if e not in fresh])
    for index, event_id in duplicates:
        results[index] = Ingested(
            event_id, fresh.get(event_id, counts.get(event_id, 0)), duplicate=True
        )
    return len(targets)


def _filtered(
    webhooks: list[str],
    filters: Mapping[str, Filter],
    data: Mapping[str, Any],
    filtered: Counter[str],
) -> list[str]:
    """The webhooks whose filter (if any) lets this event through; counts the others."""
    kept = []
    for w in webhooks:
        if controls.passes(filters.get(w), data):
            kept.append(w)
        else:
            filtered[w] += 1
    return kept


def _first_events(
    conn: Connection,
    platform_id: str,
    ready: Sequence[_Ready],
    event_ids: Sequence[str],
    now: datetime,
) -> dict[str, str]:
    """Producer id -> the event that first carried it: an earlier one, else its first
    occurrence in this batch. Every later occurrence is a duplicate of that event."""
    first_of: dict[str, str] = {}
    for r, event_id in zip(ready, event_ids, strict=True):
        if r.item.producer_id is not None:
            first_of.setdefault(r.item.producer_id, event_id)
    earlier = store.claim_producer_ids(conn, platform_id, first_of, now, now - PRODUCER_ID_WINDOW)
    return {producer: earlier.get(producer) or first for producer, first in first_of.items()}


def _insert_deliveries(
    conn: Connection,
    platform_id: str,
    targets: Sequence[tuple[str, str, str]],
    now: datetime,
    controls_now: filter_store.IngestControls,
) -> None:
    """One pending delivery per (event, webhook), each with its own idempotency key;
    a webhook paused by a Retry-After gets them due when its pause ends, a FIFO one
    with no due time: they wait their turn (``store.ordering``)."""
    delivery_ids = new_ids("dlv", len(targets))
    keys = wire.new_idempotency_keys(len(targets))
    rows = [
        store.delivery_row(
            delivery_id=delivery_id,
            event_id=event_id,
            webhook_id=webhook_id,
            platform_id=platform_id,
            topic=topic,
            idempotency_key=key,
            now=now,
        )
        for delivery_id, key, (event_id, webhook_id, topic) in zip(
            delivery_ids, keys, targets, strict=True
        )
    ]
    paused, fifo = controls_now.paused, controls_now.fifo
    if paused or fifo:
        for row in rows:
            row["next_attempt_at"] = paused.get(row["webhook_id"], now)
            row["fifo"] = row["webhook_id"] in fifo
            if row["fifo"]:
                row["next_attempt_at"] = None
    store.insert_deliveries(conn, rows)


def ingest_one(ctx: Context, item: IncomingEvent) -> Ingested:
    (result,) = ingest(ctx, [item])
    if isinstance(result, HooklineError):
        raise result
    return result
