"""Many rows in one statement: ``COPY`` (or ``unnest`` arrays) on PostgreSQL, the
driver's own ``executemany`` on SQLite.

SQLAlchemy hands an ``INSERT`` of a list of rows to psycopg's ``executemany``: one
statement per row, pipelined. On PostgreSQL each of those pays its own parse, plan
and executor start-up, which made a 1,000-event ingest (4,000 rows) cost hundreds of
milliseconds of server CPU. Plain inserts go by ``COPY`` instead (``copy_rows``);
those that must skip conflicts or answer what they inserted send one
``INSERT ... SELECT * FROM unnest(:a, :b, ...)`` with one array per column, whose
shape never changes, so SQLAlchemy compiles it once and psycopg prepares it once.
SQLite runs in-process, where ``executemany`` is already the fastest way; it keeps it,
but hands the driver rows of values bound once here (``bound_rows``): SQLAlchemy's own
``executemany`` built a parameter dict and ran every column's processing per row,
three times the driver's own time on a 1,000-event ingest (``python -m bench.ingest``).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeDecorator, TypeEngine


def columns_of(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[Column[Any]], dict[str, Any]]:
    """The columns the first row names, and one array parameter per column for
    ``unnest_of``: a PostgreSQL array literal where the column's type has one
    (``array_literal``), else a list.

    A row without a column gives ``None`` there, as an ``INSERT`` of that row would.
    """
    columns = [table.c[name] for name in rows[0]]
    params: dict[str, Any] = {}
    for col in columns:
        values = [row.get(col.name) for row in rows]
        literal = array_literal(conn.dialect, col.type, values)
        params[f"u_{col.name}"] = values if literal is None else literal
    return columns, params


def unnest_of(columns: Sequence[Column[Any]], name: str = "rows") -> TableValuedAlias:
    """``unnest(CAST(:u_a AS type[]), ...) AS name(a, ...)``: one array ``u_<a>`` per column."""
    arrays = [
        cast(
            bindparam(f"u_{col.name}", type_=Text() if _element_format(col.type) else None),
            postgresql.ARRAY(col.type),
        )
        for col in columns
    ]
    names = (col.name for col in columns)
    return func.unnest(*arrays).table_valued(*names).render_derived(name=name)


def array_literal(dialect: Dialect, type_: TypeEngine[Any], values: Sequence[Any]) -> str | None:
    """``values`` as one PostgreSQL array literal (``{"a","b",NULL}``), or ``None`` if
    ``type_`` has no text form here.

    psycopg dumps a list in Python, one element at a time through its dumper: a worker
    settling 150 deliveries spent 2.7 ms a statement on it, ten arrays of 150 (1.2 ms
    as literals, ``str.join`` and ``str.replace`` in C; the server parses either). Every
    value goes through the column type's own bind processing first, as it would bound
    alone; every string is quoted, so ``NULL``, braces, commas and spaces stay text.
    """
    element = _element_format(type_)
    if element is None:
        return None
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is not None:
        values = _processed(list(values), process)
    return _array(["NULL" if v is None else element(v) for v in values])


def _array(elements: list[str]) -> str:
    return "{" + ",".join(elements) + "}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _element_format(type_: TypeEngine[Any]) -> Callable[[Any], str] | None:
    """How one non-null value of ``type_`` is written inside an array literal."""
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    if isinstance(base, Boolean):
        return lambda v: "t" if v else "f"
    if isinstance(base, Integer):
        return lambda v: str(int(v))
    if isinstance(base, Float):
        return lambda v: repr(float(v))
    if isinstance(base, DateTime):
        return lambda v: '"' + v.isoformat() + '"'
    if isinstance(base, String):
        return _quoted
    return None


def insert_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts: bool = False,
) -> None:
    """Insert ``rows`` (dicts keyed by column name) in one statement on PostgreSQL.

    Every row must name the same columns. ``skip_conflicts``: a row whose key is
    taken is left out (``ON CONFLICT DO NOTHING``).
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        _insert_sqlite(conn, table, rows, skip_conflicts=skip_conflicts)
        return
    if not skip_conflicts:  # COPY has no ON CONFLICT
        copy_rows(conn, table, rows)
        return
    columns, params = columns_of(conn, table, rows)
    conn.execute(_unnest_insert(table, tuple(c.name for c in columns), None), params)


def _insert_sqlite(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, skip_conflicts: bool
) -> None:
    """One ``executemany`` of the driver's own, on rows ``bound_rows`` made."""
    columns = [table.c[name] for name in rows[0]]
    names = ", ".join(f'"{col.name}"' for col in columns)
    marks = ", ".join("?" * len(columns))
    conflicts = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    # names from our own table objects; every value is a bound parameter
    statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks}){conflicts}'  # noqa: S608
    conn.exec_driver_sql(statement, bound_rows(conn, columns, rows))


def bound_rows(
    conn: Connection, columns: Sequence[Column[Any]], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    """Each row's values in ``columns``' order, through each column type's bind
    processing, as an ``INSERT`` would send them (a missing column gives ``None``).

    Built a column at a time, and a batch repeats the same few values in its processed
    columns (one ``now`` in every time column, a flag or two): each distinct value is
    processed once per column.
    """
    values: list[list[Any]] = []
    for col in columns:
        column = [row.get(col.name) for row in rows]
        process = col.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is not None:
            column = _processed(column, process)
        values.append(column)
    return list(zip(*values, strict=True))


def _processed(values: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    """``process`` of each value but ``None``, once per distinct value. Values that are
    equal but of two types (``1`` and ``True``) share an answer: a column has one type,
    whose processing answers the same for both."""
    try:
        bound = {v: None if v is None else process(v) for v in set(values)}
    except TypeError:  # an unhashable value
        return [None if v is None else process(v) for v in values]
    return [bound[v] for v in values]


def copy_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """``COPY table (...) FROM STDIN`` on the connection's own transaction (PostgreSQL).

    Every plain insert goes this way, one row or a thousand: psycopg writes COPY rows
    in C, where the one-round-trip ``INSERT ... unnest`` had it build each column's
    array in Python, one value at a time. A 20-event ingest request cost ``serve``
    0.57 CPU s per 1,000 events that way and 0.40 by COPY (``python -m bench.ingest
    --mode http --batch 20``), and a 1-event one 7.97 against 6.53: the second round
    trip costs less than the arrays did.

    It runs on the driver's own connection, so a driver error is raised as SQLAlchemy
    would have raised it (``DBAPIError`` and its kinds): ``Database`` and every caller
    tell a read-only or lost database from a bug by those, whichever way rows went in.
    """
    columns = [table.c[name] for name in rows[0]]
    names = ", ".join(f'"{col.name}"' for col in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for values in bound_rows(conn, columns, rows):
                copy.write_row(values)
    except psycopg.Error as exc:
        raise sa_exc.DBAPIError.instance(
            statement,
            None,
            exc,
            psycopg.Error,
            dialect=conn.dialect,
            connection_invalidated=raw.broken,
        ) from exc


def insert_rows_returning(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key: Column[Any]
) -> set[Any]:
    """Insert ``rows``, leaving out those whose key is taken; answers ``key`` of those inserted.

    One statement on PostgreSQL (``INSERT ... SELECT unnest ... ON CONFLICT DO NOTHING
    RETURNING``); SQLite's ``executemany`` answers the same through ``RETURNING``.
    """
    if not rows:
        return set()
    if conn.dialect.name != "postgresql":
        return _insert_sqlite_returning(conn, table, rows, key)
    columns, params = columns_of(conn, table, rows)
    statement = _unnest_insert(table, tuple(c.name for c in columns), key.name)
    return set(conn.execute(statement, params).scalars())


@functools.cache
def _unnest_insert(table: Table, names: tuple[str, ...], returning: str | None) -> Executable:
    """``INSERT ... SELECT * FROM unnest(...) ON CONFLICT DO NOTHING [RETURNING key]``,
    built once per table and column list: building it and its cache key cost more
    Python (190 us) than running it on a one-event ingest."""
    columns = [table.c[name] for name in names]
    insert = postgresql.insert(table).from_select(columns, select(*unnest_of(columns).c))
    statement = insert.on_conflict_do_nothing()
    return statement if returning is None else statement.returning(table.c[returning])


def _insert_sqlite_returning(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key: Column[Any]
) -> set[Any]:
    """Multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` of rows ``bound_rows``
    made, as many rows a statement as SQLite takes parameters: the ingest's write lock
    is held meanwhile, and SQLAlchemy's own path bound every row's values one by one."""
    columns = [table.c[name] for name in rows[0]]
    names = ", ".join(f'"{col.name}"' for col in columns)
    one = "(" + ", ".join("?" * len(columns)) + ")"
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    per = max(1, raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(columns))
    bound = bound_rows(conn, columns, rows)
    found: set[Any] = set()
    for start in range(0, len(bound), per):
        part = bound[start : start + per]
        values = ", ".join([one] * len(part))
        # names from our own table objects; every value is a bound parameter
        statement = (
            f'INSERT INTO "{table.name}" ({names}) VALUES {values}'  # noqa: S608
            f' ON CONFLICT DO NOTHING RETURNING "{key.name}"'
        )
        flat = tuple(value for row in part for value in row)
        found.update(row[0] for row in conn.exec_driver_sql(statement, flat))
    return found


def id_rows(name: str = "wanted") -> TableValuedAlias:
    """``unnest(:<name>_ids) AS <name>(id)``: a list of ids to join with, one parameter
    on PostgreSQL, bound to ``ids_of(values)``.

    ``column IN (:a, :b, ...)`` has as many parameters as ids; once psycopg prepares
    it, PostgreSQL may pick a generic plan that rebuilds that array for every row of
    the table and searches it linearly (90 ms for 500 ids against 6,000 producer ids,
    growing with the table). Joined with ``unnest``, the same lookup hashes the ids
    or probes the index per id whatever the statistics say (5 ms). The parameter is
    named, not valued, so that a statement using it is built once.
    """
    array = cast(bindparam(f"{name}_ids", type_=Text()), postgresql.ARRAY(String))
    return func.unnest(array).table_valued("id").render_derived(name=name)


def ids_of(values: Sequence[str]) -> str:
    """The array literal an ``id_rows`` parameter takes."""
    return _array([_quoted(v) for v in values])
