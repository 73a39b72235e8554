"""Which database errors mean "cannot write now", and a log-safe line for any error.

A full disk, a read-only file or database, an I/O error, a lock held past the busy
timeout, a lost or terminated connection: none of these is the caller's fault, and
the same call may work in a few seconds. ``Database`` turns them into the domain's
``StorageUnavailable``, so the faces answer 503 and the worker backs off, without
either knowing SQL. Anything else (a constraint, a bug) keeps its own class.
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import exc as sa_exc

# SQLite primary result codes (extended codes keep them in their low byte).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 5, 6, 8
SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN = 10, 13, 14
SQLITE_UNAVAILABLE = frozenset(
    {SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN}
)
# PostgreSQL SQLSTATE: connection exception, insufficient resources (disk full),
# operator intervention (admin shutdown, cannot connect now), system error (I/O),
# and a read-only transaction.
PG_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
PG_READ_ONLY = "25006"


def _driver_error(exc: BaseException) -> BaseException:
    return exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc


def cannot_write_now(exc: BaseException) -> bool:
    """True when ``exc`` says the database is unusable for now, not that the call is wrong."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    orig = _driver_error(exc)
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is None:  # raised outside a statement (our BEGIN IMMEDIATE): by its text
            return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)
        return code & 0xFF in SQLITE_UNAVAILABLE
    if isinstance(orig, psycopg.Error):
        state = orig.sqlstate
        if state is None:  # no server answer at all: the connection is gone
            return isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError)
        return state == PG_READ_ONLY or state.startswith(PG_UNAVAILABLE_CLASSES)
    return isinstance(exc, sa_exc.DisconnectionError)


def describe(exc: BaseException) -> str:
    """Class and first line of the driver's message: never SQL text or its parameters."""
    orig = _driver_error(exc)
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0] if lines else ''}".rstrip(": ")
