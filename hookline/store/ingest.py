"""Ingest rows: events, one delivery per matching working webhook, producer ids seen."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql

from hookline.domain.deliveries import Attempt, DeliveryState
from hookline.domain.models import WebhookStatus
from hookline.store.bulk import (
    columns_of,
    id_rows,
    ids_of,
    insert_rows,
    insert_rows_returning,
    unnest_of,
)
from hookline.store.db import CHUNK
from hookline.store.db import chunks as _chunks
from hookline.store.filters import IngestControls, note_controls
from hookline.store.settles import insert_attempts
from hookline.store.tables import deliveries, events, ingest_keys, webhook_topics, webhooks

ID_LOOKUP = CHUNK * 2
"""Producer ids looked up per statement: a whole ingest batch (1,000) in one."""


# Built once, as every statement an ingest runs in SQLite's write lock: building one
# cost more Python than SQLite spent running it (compiling is cached either way).
_TARGETS = (
    select(
        webhook_topics.c.topic,
        webhooks.c.id,
        webhooks.c.event_filter,
        webhooks.c.paused_until,
        webhooks.c.ordering,
    )
    .join(webhooks, webhooks.c.id == webhook_topics.c.webhook_id)
    .where(
        webhooks.c.platform_id == bindparam("platform_id"),
        webhooks.c.status == WebhookStatus.WORKING.value,
        webhooks.c.deleted_at.is_(None),
    )
    .order_by(webhooks.c.id)
)
_STALE = (
    ingest_keys.c.platform_id == bindparam("platform_id"),
    ingest_keys.c.created_at < bindparam("since"),
)
_FORGET_STALE_SQLITE = delete(ingest_keys).where(
    ingest_keys.c.producer_id.in_(bindparam("ids", expanding=True)), *_STALE
)
_WANTED = id_rows()
_EVENT_IDS_PG = (
    select(ingest_keys.c.producer_id, ingest_keys.c.event_id)
    .where(ingest_keys.c.platform_id == bindparam("platform_id"))
    .join(_WANTED, ingest_keys.c.producer_id == _WANTED.c.id)
)
_EVENT_IDS_SQLITE = select(ingest_keys.c.producer_id, ingest_keys.c.event_id).where(
    ingest_keys.c.platform_id == bindparam("platform_id"),
    ingest_keys.c.producer_id.in_(bindparam("ids", expanding=True)),
)


@dataclass(frozen=True)
class Targets:
    """Where a platform's new events go, as one ingest batch sees it."""

    subscribers: dict[str, list[str]]
    """Working webhooks per topic they listen to."""
    controls: IngestControls
    """Their filters, pauses and FIFO orderings."""


def targets(conn: Connection, platform_id: str, now: datetime) -> Targets:
    """The platform's working webhooks per topic, and their controls: one statement."""
    subscribers: dict[str, list[str]] = defaultdict(list)
    controls = IngestControls()
    seen: set[str] = set()
    for row in conn.execute(_TARGETS, {"platform_id": platform_id}):
        subscribers[row.topic].append(row.id)
        if row.id not in seen:
            seen.add(row.id)
            note_controls(controls, row, now)
    return Targets(subscribers, controls)


def claim_producer_ids(
    conn: Connection,
    platform_id: str,
    claims: Mapping[str, str],
    now: datetime,
    since: datetime,
) -> dict[str, str]:
    """Record producer ids (id -> our new event id); answers those seen since ``since``.

    The answer maps each already-known producer id to its earlier event id. Ids older
    than the window are forgotten first. ``ON CONFLICT ... RETURNING`` makes two
    concurrent ingests of the same id agree: the second waits for the first, inserts
    nothing, and finds the first one's row. Ids are inserted first and only those the
    insert skipped are looked up: on PostgreSQL one statement per batch of new ids (an
    insert that takes a stale id's row over, ``_record_pg``), on SQLite two.
    """
    if not claims:
        return {}
    ids = sorted(claims)  # one global order: no deadlocks
    known: dict[str, str] = {}
    for chunk in _chunks(ids, ID_LOOKUP):
        rows = [
            {
                "platform_id": platform_id,
                "producer_id": producer_id,
                "event_id": claims[producer_id],
                "created_at": now,
            }
            for producer_id in chunk
        ]
        if conn.dialect.name == "postgresql":
            inserted = _record_pg(conn, rows, since)
        else:
            _forget_stale(conn, platform_id, chunk, since)
            inserted = insert_rows_returning(conn, ingest_keys, rows, ingest_keys.c.producer_id)
        taken = [i for i in chunk if i not in inserted]
        if taken:  # known before, or a concurrent ingest took them first
            known.update(_event_ids_of(conn, platform_id, taken))
    return known


def _record_pg(conn: Connection, rows: Sequence[Mapping[str, Any]], since: datetime) -> set[str]:
    """Insert ``rows``; a row whose id is stale (recorded before ``since``) is taken
    over as if new. Answers the producer ids recorded now.

    It was a ``DELETE`` of the stale ids and then the insert: two round trips in every
    ingest that names producer ids, the first of which nearly always found nothing. A
    concurrent ingest of the same id waits for this row's lock and then sees it fresh.
    """
    _, params = columns_of(conn, ingest_keys, rows)
    return set(conn.execute(_RECORD_PG, {**params, "since": since}).scalars())


_KEY_COLUMNS = [
    ingest_keys.c[name] for name in ("platform_id", "producer_id", "event_id", "created_at")
]
_RECORDING = postgresql.insert(ingest_keys).from_select(
    _KEY_COLUMNS, select(*unnest_of(_KEY_COLUMNS).c)
)
_RECORD_PG = _RECORDING.on_conflict_do_update(
    index_elements=[ingest_keys.c.platform_id, ingest_keys.c.producer_id],
    set_={"event_id": _RECORDING.excluded.event_id, "created_at": _RECORDING.excluded.created_at},
    where=ingest_keys.c.created_at < bindparam("since", type_=ingest_keys.c.created_at.type),
).returning(ingest_keys.c.producer_id)


def _forget_stale(
    conn: Connection, platform_id: str, producer_ids: Sequence[str], since: datetime
) -> None:
    """Producer ids older than the window are forgotten before they are looked up (SQLite)."""
    conn.execute(
        _FORGET_STALE_SQLITE,
        {"ids": list(producer_ids), "platform_id": platform_id, "since": since},
    )


def _event_ids_of(
    conn: Connection, platform_id: str, producer_ids: Sequence[str]
) -> dict[str, str]:
    if conn.dialect.name == "postgresql":
        wanted = {"wanted_ids": ids_of(producer_ids), "platform_id": platform_id}
        rows = conn.execute(_EVENT_IDS_PG, wanted).all()
    else:
        listed = {"platform_id": platform_id, "ids": list(producer_ids)}
        rows = conn.execute(_EVENT_IDS_SQLITE, listed).all()
    return {r.producer_id: r.event_id for r in rows}


def count_deliveries_of(conn: Connection, event_ids: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in _chunks(list(event_ids)):
        rows = conn.execute(
            select(deliveries.c.event_id, func.count())
            .where(deliveries.c.event_id.in_(chunk))
            .group_by(deliveries.c.event_id)
        ).all()
        counts.update({r[0]: int(r[1]) for r in rows})
    return counts


def event_row(
    *,
    event_id: str,
    platform_id: str,
    topic: str,
    body: bytes,
    occurred_at: datetime,
    received_at: datetime,
    producer_id: str | None = None,
    is_test: bool = False,
) -> dict[str, Any]:
    """A row for ``insert_events``."""
    return {
        "id": event_id,
        "platform_id": platform_id,
        "topic": topic,
        "producer_id": producer_id,
        "body": body,
        "occurred_at": occurred_at,
        "received_at": received_at,
        "is_test": is_test,
    }


def delivery_row(
    *,
    delivery_id: str,
    event_id: str,
    webhook_id: str,
    platform_id: str,
    topic: str,
    idempotency_key: str,
    now: datetime,
    state: DeliveryState = DeliveryState.PENDING,
) -> dict[str, Any]:
    """A row for ``insert_deliveries``: a pending one is due at once, nothing tried yet."""
    return {
        "id": delivery_id,
        "event_id": event_id,
        "webhook_id": webhook_id,
        "platform_id": platform_id,
        "topic": topic,
        "idempotency_key": idempotency_key,
        "state": state.value,
        "attempts": 0,
        "next_attempt_at": now if state is DeliveryState.PENDING else None,
        "created_at": now,
        "updated_at": now,
    }


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    insert_rows(conn, events, rows)


def insert_deliveries(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    insert_rows(conn, deliveries, rows)


def record_test_send(
    conn: Connection,
    *,
    event: dict[str, Any],
    delivery: dict[str, Any],
    attempt: Attempt,
    now: datetime,
) -> None:
    """A test send, recorded once it happened: its event, its settled delivery, its attempt.

    The delivery goes in already delivered or failed: a test is never retried.
    """
    settled = {
        **delivery,
        "attempts": attempt.number,
        "last_status_code": attempt.status_code,
        "last_error": attempt.error,
        "updated_at": now,
        "completed_at": now,
    }
    insert_events(conn, [event])
    insert_deliveries(conn, [settled])
    insert_attempts(conn, [(delivery["id"], attempt)])
