"""``Database.write(wait_for_disk=False)``: the worker's commits skip the WAL flush wait
on PostgreSQL, every other write still waits for it, and each costs as few round
trips as can be: the setting stays with the connection's session until a transaction
wants the other one, and a connection back in use within a second is not pinged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from hookline.domain.errors import StorageUnavailable
from hookline.store import Database
from hookline.store import db as db_module
from hookline.store.db import create_database


def _synchronous_commit(db: Database, *, wait_for_disk: bool) -> str:
    with db.write(wait_for_disk=wait_for_disk) as conn:
        return str(conn.execute(text("SHOW synchronous_commit")).scalar())


class Statements:
    """Every statement SQLAlchemy sends through ``db``'s engine, in order."""

    def __init__(self, db: Database) -> None:
        self.sent: list[str] = []
        event.listen(db.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.sent.append(statement)

    def settings(self) -> list[str]:
        found = [s for s in self.sent if "synchronous_commit" in s and not s.startswith("SHOW")]
        self.sent.clear()
        return found


@pytest.fixture
def one_connection(postgres_url: str) -> Iterator[Database]:
    """A pool of one connection: every transaction gets the same one back."""
    database = create_database(postgres_url, pool_size=1, max_overflow=0)
    yield database
    database.dispose()


def test_only_the_transaction_that_asked_skips_the_flush_wait(db: Database) -> None:
    if db.dialect != "postgresql":
        with db.write(wait_for_disk=False) as conn:  # SQLite: nothing to change, still a write
            conn.execute(text("CREATE TABLE scratch (x INTEGER)"))
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM scratch")).scalar() == 0
        return
    assert _synchronous_commit(db, wait_for_disk=False) == "off"
    assert _synchronous_commit(db, wait_for_disk=True) == "on"


@pytest.mark.postgres
def test_the_setting_stays_with_the_session_and_is_set_only_on_a_change(
    one_connection: Database,
) -> None:
    db, statements = one_connection, Statements(one_connection)
    assert _synchronous_commit(db, wait_for_disk=False) == "off"
    assert statements.settings() == ["SET synchronous_commit TO OFF"]
    assert _synchronous_commit(db, wait_for_disk=False) == "off"  # a worker's next round
    assert statements.settings() == []
    assert _synchronous_commit(db, wait_for_disk=True) == "on"  # an ingest, say
    assert statements.settings() == ["SET synchronous_commit TO DEFAULT"]
    assert _synchronous_commit(db, wait_for_disk=True) == "on"
    assert statements.settings() == []
    with db.read() as conn:  # a read is left as the session is
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"


@pytest.mark.postgres
def test_a_rolled_back_change_is_not_believed(one_connection: Database) -> None:
    """``SET`` is undone with its transaction: the next one must set it again."""
    db = one_connection
    assert _synchronous_commit(db, wait_for_disk=False) == "off"
    with pytest.raises(RuntimeError), db.write() as conn:  # DEFAULT, then rolled back
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
        raise RuntimeError("the caller's own error")
    with db.read() as conn:
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "off"
    assert _synchronous_commit(db, wait_for_disk=True) == "on"
    assert _synchronous_commit(db, wait_for_disk=False) == "off"


@pytest.mark.postgres
def test_behind_a_transaction_pooler_nothing_stays_in_the_session(postgres_url: str) -> None:
    db = create_database(postgres_url, transaction_pooled=True, pool_size=1, max_overflow=0)
    try:
        statements = Statements(db)
        for _ in range(2):
            assert _synchronous_commit(db, wait_for_disk=False) == "off"
            assert statements.settings() == ["SET LOCAL synchronous_commit TO OFF"]
            with db.read() as conn:  # the server connection the next client would get
                assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
    finally:
        db.dispose()


def _terminate(db: Database) -> None:
    with db.engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    killer = create_database(str(db.engine.url.render_as_string(hide_password=False)))
    try:
        with killer.engine.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})").scalar()
    finally:
        killer.dispose()


@pytest.mark.postgres
def test_a_connection_that_rested_is_pinged_and_replaced_if_dropped(
    one_connection: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 0.0)  # every checkout has rested
    _terminate(one_connection)
    assert _synchronous_commit(one_connection, wait_for_disk=True) == "on"  # no error


@pytest.mark.postgres
def test_a_connection_back_in_use_at_once_is_not_pinged_and_its_loss_is_an_outage(
    one_connection: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unpinged, a connection dropped meanwhile fails its transaction as an outage would
    (``StorageUnavailable``), and the next transaction gets a new connection."""
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 3600.0)
    assert _synchronous_commit(one_connection, wait_for_disk=False) == "off"
    _terminate(one_connection)
    with pytest.raises(StorageUnavailable):
        _synchronous_commit(one_connection, wait_for_disk=False)
    # a new connection: its session has the server's default until a transaction asks
    assert _synchronous_commit(one_connection, wait_for_disk=True) == "on"
    assert _synchronous_commit(one_connection, wait_for_disk=False) == "off"
