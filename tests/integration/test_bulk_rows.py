"""Bulk writes (``store.bulk``) store every value as a plain INSERT would, on both backends.

PostgreSQL writes plain inserts by ``COPY`` and those that skip conflicts or answer
what they inserted by ``INSERT ... unnest``: both must keep text with tabs, newlines
and backslashes, bytes, NULLs and aware timestamps exactly.
"""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeEngine

from hookline.domain.errors import StorageUnavailable
from hookline.store import Database
from hookline.store.bulk import array_literal, insert_rows, insert_rows_returning
from hookline.store.tables import events, ingest_keys
from hookline.store.types import UTCDateTime
from tests.support.hostile import SPECIALS, hostile_text

AWKWARD = ["tab\there", "new\nline", "back\\slash", "quote'\"", "\\N", "", "生日快樂", "a,b{c}"]


def _event(i: int, at: datetime) -> dict[str, object]:
    text = AWKWARD[i % len(AWKWARD)]
    return {
        "id": f"evt_bulk{i:05d}",
        "platform_id": "plt_bulk",
        "topic": "receipt.receipt_validated",
        "producer_id": None if i % 3 == 0 else f"{text}-{i}",
        "body": f"{text}|{i}".encode() + bytes([0, 92, 9, 10, 255]),
        "occurred_at": at + timedelta(microseconds=i),
        "received_at": at,
        "is_test": i % 2 == 0,
    }


@pytest.mark.parametrize("count", [1, 3, 207])
def test_bulk_inserts_keep_every_value(db: Database, count: int) -> None:
    at = datetime(2026, 11, 30, 3, 4, 5, 678901, tzinfo=UTC)
    rows = [_event(i, at) for i in range(count)]
    with db.write() as conn:
        insert_rows(conn, events, rows)
    with db.read() as conn:
        stored = [dict(r._mapping) for r in conn.execute(select(events).order_by(events.c.id))]
    assert stored == rows


@pytest.mark.parametrize("count", [1, 201])
def test_bulk_inserted_times_compare_as_a_plain_insert_s_do(db: Database, count: int) -> None:
    """SQLite keeps times as text: a bulk row's must read exactly as SQLAlchemy's own
    insert writes it (a whole second too, where Python's sqlite3 adapter drops the
    ``.000000`` SQLAlchemy writes), or comparisons and paging on it go wrong."""
    at = datetime(2026, 11, 30, 3, 4, 5, tzinfo=UTC)  # microsecond 0
    bulk = [{**_event(i, at), "occurred_at": at} for i in range(count)]
    plain = {**_event(count, at), "id": "evt_plain", "occurred_at": at}
    with db.write() as conn:
        insert_rows(conn, events, bulk)
        conn.execute(insert(events), plain)
    with db.read() as conn:
        found = conn.execute(
            select(events.c.id).where(events.c.received_at == at, events.c.occurred_at <= at)
        ).scalars()
        raw = conn.execute(select(func.count(func.distinct(cast(events.c.received_at, String)))))
        assert sorted(found) == sorted([str(r["id"]) for r in bulk] + ["evt_plain"])
        assert raw.scalar_one() == 1


def test_hostile_text_survives_a_copy(db: Database) -> None:
    """The suite's special characters a database can hold at all (no NUL, no lone
    surrogate: ingest refuses those) come back as sent."""
    at = datetime(2026, 11, 30, tzinfo=UTC)
    texts = [f"x{s}y{s}" for s in SPECIALS if s != "\x00" and not _has_surrogate(s)]
    rows = [{**_event(i, at), "producer_id": texts[i % len(texts)][:255]} for i in range(201)]
    with db.write() as conn:
        insert_rows(conn, events, rows)
    with db.read() as conn:
        back = dict(conn.execute(select(events.c.id, events.c.producer_id)).all())
    assert back == {r["id"]: r["producer_id"] for r in rows}


@pytest.mark.parametrize("count", [1, 201])
def test_hostile_values_survive_an_insert_that_skips_conflicts(db: Database, count: int) -> None:
    """The same rows by ``INSERT ... unnest`` on PostgreSQL: text, times and flags go
    as array literals there, the body (bytes) as a list; all must come back as sent."""
    at = datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=UTC)
    texts = AWKWARD + [f"x{s}y{s}" for s in SPECIALS if s != "\x00" and not _has_surrogate(s)]
    texts += ["NULL", "null", " padded ", "{}", '{"a","b"}', '\\"', "ŝ\t\r\n😀"]
    rows = [{**_event(i, at), "producer_id": texts[i % len(texts)]} for i in range(count)]
    with db.write() as conn:
        insert_rows(conn, events, rows, skip_conflicts=True)
        insert_rows(conn, events, rows, skip_conflicts=True)  # every one a conflict now
    with db.read() as conn:
        stored = [dict(r._mapping) for r in conn.execute(select(events).order_by(events.c.id))]
    assert stored == sorted(rows, key=lambda r: str(r["id"]))


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # array literals are PostgreSQL's
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(hostile_text.filter(lambda t: "\x00" not in t and not _has_surrogate(t))),
    numbers=st.lists(st.one_of(st.none(), st.floats(), st.integers(-(2**31), 2**31 - 1))),
)
def test_array_literals_read_back_as_the_values_they_hold(
    db: Database, texts: list[str], numbers: list[float | int | None]
) -> None:
    floats = [None if n is None else float(n) for n in numbers]
    ints = [n if n is None or isinstance(n, int) else None for n in numbers]
    times = [datetime(2026, 11, 30, tzinfo=UTC) + timedelta(microseconds=i * 997) for i in range(5)]
    cases: list[tuple[TypeEngine[Any], list[Any]]] = [
        (Text(), [*texts, None]),
        (Float(), floats),
        (Integer(), ints),
        (Boolean(), [True, None, False]),
        (UTCDateTime(), [*times, None]),
    ]
    with db.read() as conn:
        for type_, values in cases:
            literal = array_literal(conn.dialect, type_, values)
            assert literal is not None
            array = cast(bindparam("a", literal, type_=Text()), ARRAY(type_))
            back = conn.execute(select(func.unnest(array))).scalars().all()
            assert [_same(v) for v in back] == [_same(v) for v in values]


def _same(value: Any) -> Any:
    """NaN equals NaN here; -0.0 is 0.0 as PostgreSQL prints it."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def test_insert_returning_answers_only_what_it_inserted(db: Database) -> None:
    at = datetime(2026, 11, 30, tzinfo=UTC)

    def key(producer_id: str, event_id: str) -> dict[str, object]:
        return {
            "platform_id": "plt_bulk",
            "producer_id": producer_id,
            "event_id": event_id,
            "created_at": at,
        }

    with db.write() as conn:
        first = insert_rows_returning(
            conn, ingest_keys, [key("a", "e1"), key("b", "e2")], ingest_keys.c.producer_id
        )
        second = insert_rows_returning(
            conn, ingest_keys, [key("b", "e3"), key("c", "e4")], ingest_keys.c.producer_id
        )
    assert first == {"a", "b"}
    assert second == {"c"}
    with db.read() as conn:
        stored = dict(conn.execute(select(ingest_keys.c.producer_id, ingest_keys.c.event_id)).all())
    assert stored == {"a": "e1", "b": "e2", "c": "e4"}


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # PostgreSQL: one array per column
def test_insert_returning_splits_rows_past_sqlite_s_parameter_limit(db: Database) -> None:
    """SQLite takes a bounded number of parameters a statement: more rows than fit go
    in several statements, and every inserted key is still answered, none twice. The
    limit is lowered here (2 rows of 4 columns a statement) so a few rows cross it."""
    at = datetime(2026, 11, 30, 3, 4, 5, tzinfo=UTC)
    rows = [
        {"platform_id": "plt_bulk", "producer_id": f"p{i}", "event_id": f"e{i}", "created_at": at}
        for i in range(7)
    ]
    with db.write() as conn:
        insert_rows_returning(conn, ingest_keys, rows[2:3], ingest_keys.c.producer_id)
        raw = conn.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        old = raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 9)
        try:
            found = insert_rows_returning(conn, ingest_keys, rows, ingest_keys.c.producer_id)
        finally:
            raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, old)
    assert found == {f"p{i}" for i in range(7)} - {"p2"}
    with db.read() as conn:
        stored = conn.execute(
            select(ingest_keys.c.producer_id).where(ingest_keys.c.created_at == at)
        ).scalars()
        assert sorted(stored) == [f"p{i}" for i in range(7)]


def test_a_conflicting_bulk_insert_raises_what_a_plain_insert_raises(db: Database) -> None:
    """PostgreSQL's COPY runs on the driver's connection; its errors still come as
    SQLAlchemy's kinds, which callers and ``Database`` tell apart (a conflict is not
    an outage), and the transaction is rolled back whole."""
    at = datetime(2026, 11, 30, tzinfo=UTC)
    with db.write() as conn:
        insert_rows(conn, events, [_event(1, at)])
    with pytest.raises(IntegrityError), db.write() as conn:
        insert_rows(conn, events, [_event(2, at)])
        insert_rows(conn, events, [_event(1, at)])
    with db.read() as conn:
        assert list(conn.execute(select(events.c.id)).scalars()) == ["evt_bulk00001"]


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # COPY is PostgreSQL's
def test_a_copy_on_a_terminated_connection_is_storage_unavailable(db: Database) -> None:
    """COPY runs on the driver's connection, beside SQLAlchemy: a connection killed under
    it must still read as an outage (``StorageUnavailable``: the API's 503, a worker's
    back-off), change nothing, and leave the pool able to write at once. (Here the
    rollback's own disconnect error would say so even unwrapped; a read-only database
    is the case only the wrapping catches: test_storage_unavailable.)"""
    at = datetime(2026, 11, 30, tzinfo=UTC)
    with pytest.raises(StorageUnavailable), db.write() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with db.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        insert_rows(conn, events, [_event(1, at)])
    with db.write() as conn:
        insert_rows(conn, events, [_event(2, at)])
    with db.read() as conn:
        assert list(conn.execute(select(events.c.id)).scalars()) == ["evt_bulk00002"]
