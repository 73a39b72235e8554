"""``serve`` and a lone ``worker`` warn at start when PostgreSQL's autovacuum is off:
without it every claim and settle leaves a dead row in ``deliveries`` for good.

The PostgreSQL case turns the real server's setting on and off (``ALTER SYSTEM``, a
reload) and puts it back; the suite runs one test at a time, so nothing else sees it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection

from hookline.commands.shared import warn_if_unvacuumed
from hookline.services.context import Context
from hookline.store import Database


def _autovacuum(conn: Connection) -> str:
    return str(conn.exec_driver_sql("SHOW autovacuum").scalar())


def _reload_until(db: Database, statement: str, expected: str) -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(statement)
        conn.exec_driver_sql("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 10
        while _autovacuum(conn) != expected:  # the reload is a signal: wait until it lands
            assert time.monotonic() < deadline, f"autovacuum never became {expected}"
            time.sleep(0.02)


@pytest.fixture
def set_autovacuum(db: Database) -> Iterator[Callable[[str], None]]:
    """A function that sets the server's autovacuum; the original comes back after."""
    with db.engine.connect() as conn:
        original = _autovacuum(conn)
    yield lambda value: _reload_until(db, f"ALTER SYSTEM SET autovacuum = {value}", value)
    _reload_until(db, "ALTER SYSTEM RESET autovacuum", original)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_postgres_without_autovacuum_gets_one_warning(
    ctx: Context, set_autovacuum: Callable[[str], None], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    set_autovacuum("off")
    warn_if_unvacuumed(ctx)
    (line,) = _warnings(caplog)
    assert "autovacuum is off" in line and "deliveries" in line
    caplog.clear()
    set_autovacuum("on")
    warn_if_unvacuumed(ctx)
    assert _warnings(caplog) == []


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_sqlite_has_nothing_to_vacuum(ctx: Context, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    warn_if_unvacuumed(ctx)
    assert _warnings(caplog) == []
