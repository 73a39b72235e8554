"""``Database.write(wait_for_disk=False)``: the worker's commits skip the WAL flush wait
on PostgreSQL for that transaction only, and every other write still waits for it."""

from __future__ import annotations

from sqlalchemy import text

from hookline.store import Database


def _synchronous_commit(db: Database, *, wait_for_disk: bool) -> str:
    with db.write(wait_for_disk=wait_for_disk) as conn:
        return str(conn.execute(text("SHOW synchronous_commit")).scalar())


def test_only_the_transaction_that_asked_skips_the_flush_wait(db: Database) -> None:
    if db.dialect != "postgresql":
        with db.write(wait_for_disk=False) as conn:  # SQLite: nothing to change, still a write
            conn.execute(text("CREATE TABLE scratch (x INTEGER)"))
        with db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM scratch")).scalar() == 0
        return
    assert _synchronous_commit(db, wait_for_disk=False) == "off"
    # the pool hands the same connection back: SET LOCAL ended with its transaction
    assert _synchronous_commit(db, wait_for_disk=True) == "on"
