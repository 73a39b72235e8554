"""SQLite: one process's writers take turns in the process before they try the file's
write lock, so only one of them at a time retries ``BEGIN IMMEDIATE`` (each retry loop
burns CPU; the API has forty threads that may all be waiting)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from hookline.domain.errors import StorageUnavailable
from hookline.store import Database
from hookline.store import db as db_module

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


@pytest.fixture
def lock_tries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the threads that tried the file's write lock, in order."""
    tries: list[str] = []
    real = db_module._begin_immediate

    def counted(dbapi_conn: Any) -> None:
        tries.append(threading.current_thread().name)
        real(dbapi_conn)

    monkeypatch.setattr(db_module, "_begin_immediate", counted)
    yield tries


def _hold_write(db: Database, entered: threading.Event, release: threading.Event) -> None:
    with db.write() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS turns (who TEXT)"))
        entered.set()
        assert release.wait(10)


def test_a_writer_waits_its_turn_without_touching_the_file_lock(
    db: Database, lock_tries: list[str]
) -> None:
    entered, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write, args=(db, entered, release), name="holder")
    holder.start()
    assert entered.wait(10)

    done = threading.Event()

    def second() -> None:
        with db.write() as conn:
            conn.execute(text("INSERT INTO turns VALUES ('second')"))
        done.set()

    waiters = [threading.Thread(target=second, name=f"waiter-{n}") for n in range(5)]
    for waiter in waiters:
        waiter.start()
    # While the holder writes, no waiter reaches BEGIN IMMEDIATE: they sleep in the process.
    assert not done.wait(0.3)
    assert lock_tries == ["holder"]

    release.set()
    holder.join(10)
    for waiter in waiters:
        waiter.join(10)
    assert sorted(lock_tries[1:]) == [f"waiter-{n}" for n in range(5)]
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM turns")).scalar() == 5


def test_a_turn_that_never_comes_is_storage_unavailable(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "WRITE_LOCK_TIMEOUT", 0.2)
    entered, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write, args=(db, entered, release))
    holder.start()
    try:
        assert entered.wait(10)
        with pytest.raises(StorageUnavailable), db.write():
            pytest.fail("entered a write while another thread of the process held one")
        assert db.write_health.failing and "locked" in db.write_health.cause
    finally:
        release.set()
        holder.join(10)
    with db.write() as conn:  # the turn comes back once the holder is done
        conn.execute(text("INSERT INTO turns VALUES ('after')"))
