"""Real database faults, switched on and off while a test runs.

SQLite: each pooled connection is set up at checkout, so the next transaction sees
the fault: ``full`` lowers ``max_page_count`` to the file's current size (SQLite clamps
it there), so anything that needs a new page fails with SQLITE_FULL, "database or disk
is full"; ``read_only`` sets ``query_only``, so any write fails with SQLITE_READONLY.
(Running as root, file modes would not stop a write.) PostgreSQL: the database itself
is set read-only (``default_transaction_read_only``) and the pool renewed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy import create_engine, event, text

from hookline.store import Database
from tests.conftest import POSTGRES_ADMIN_URL

Mode = Literal["full", "read_only"] | None
UNLIMITED_PAGES = 1_073_741_823


class SqliteFault:
    def __init__(self, db: Database) -> None:
        self.mode: Mode = None
        event.listen(db.engine, "checkout", self._apply)

    def _apply(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        pages = 1 if self.mode == "full" else UNLIMITED_PAGES
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")
        dbapi_conn.execute(f"PRAGMA query_only={int(self.mode == 'read_only')}")


@contextmanager
def postgres_read_only(db: Database) -> Iterator[None]:
    """The test database refuses writes until the block ends; ``db``'s pool reconnects."""
    name = db.engine.url.database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        db.engine.dispose()
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        admin.dispose()
        db.engine.dispose()


@contextmanager
def refusing_writes(db: Database) -> Iterator[None]:
    """Either backend refuses every write until the block ends."""
    if db.dialect == "postgresql":
        with postgres_read_only(db):
            yield
        return
    fault = SqliteFault(db)
    fault.mode = "read_only"
    try:
        yield
    finally:
        fault.mode = None
