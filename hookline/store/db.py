"""Engines and transactions for SQLite and PostgreSQL behind one small interface.

Writers must not interleave their checks and writes (the webhook limit is a
count-then-insert). SQLite gets that from ``BEGIN IMMEDIATE`` (one writer at a time,
readers unaffected in WAL mode); PostgreSQL from a row lock on the platform, taken
by ``platforms.lock_platform``.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from hookline.domain.errors import StorageUnavailable
from hookline.store.faults import cannot_write_now, describe

BUSY_TIMEOUT_MS = 10_000
SHORT_BUSY_MS = 2
WRITE_LOCK_TIMEOUT = 10.0
WRITE_FAILURE_WINDOW = 30.0  # seconds a failed write keeps /readyz failing at most
WRITE_QUIET = 5.0  # ... or until a write succeeds this long after the last failure
CHUNK = 500  # ids per IN (...) list
PING_AFTER_IDLE = 1.0  # seconds a pooled PostgreSQL connection rests before a ping
_COMMIT_WAIT = "hookline_synchronous_commit"  # a pool entry's info key: see _commit_wait
_RETURNED_AT = "hookline_returned_at"  # ... and when it last went back to the pool


def chunks(ids: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    """Slices short enough for an ``IN (...)`` list on either backend."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class WriteHealth:
    """When this process last failed to write, and whether it wrote since.

    Every writer of the process (ingest, the dashboard, an embedded worker) shares its
    ``Database``, so ``/readyz`` can say "writes failing" while any of them fails. It
    recovers by itself: once a write succeeds at least ``quiet`` seconds after the last
    failure, or ``window`` seconds after it whatever happened. The quiet period stops
    it flapping when small writes (a claim) succeed between big ones (an ingest) that
    a nearly full disk refuses.
    """

    def __init__(
        self,
        window: float = WRITE_FAILURE_WINDOW,
        quiet: float = WRITE_QUIET,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window, self.quiet, self.clock = window, quiet, clock
        self.failed_at: float | None = None
        self.succeeded_at: float | None = None
        self.cause = ""

    def failed(self, cause: str) -> None:
        self.failed_at, self.cause = self.clock(), cause

    def succeeded(self) -> None:
        self.succeeded_at = self.clock()

    @property
    def failing(self) -> bool:
        failed_at, succeeded_at = self.failed_at, self.succeeded_at
        if failed_at is None or self.clock() - failed_at >= self.window:
            return False
        return succeeded_at is None or succeeded_at - failed_at < self.quiet


class Database:
    def __init__(self, engine: Engine, *, transaction_pooled: bool = False) -> None:
        self.engine = engine
        self.transaction_pooled = transaction_pooled
        """PostgreSQL behind a transaction pooler: no session state may be left behind."""
        self.write_health = WriteHealth()
        # SQLite: this process's writers queue here, asleep, for their turn at the file's
        # write lock, so only one of them at a time retries ``BEGIN IMMEDIATE``. Each
        # retrying thread costs CPU (a try every 2 ms): with sixteen ingest requests in
        # flight that nearly doubled the API's CPU per event (bench.ingest --lanes 16);
        # at two in flight it made no difference. Reentrant, as the file's lock is not:
        # a nested write in one thread fails as it always did, by the file's lock timeout.
        self._writers = threading.RLock() if engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def single_writer(self) -> bool:
        """True when one write transaction at a time holds the whole database (SQLite):
        work that needs no lock belongs before ``write()``, not inside it. PostgreSQL
        locks rows, so reading inside a write transaction keeps nobody waiting."""
        return self._writers is not None

    @contextmanager
    def write(self, *, wait_for_disk: bool = True) -> Iterator[Connection]:
        """A transaction that will write: serialised against other writers on SQLite.

        ``wait_for_disk=False`` (the worker's claims and settles): on PostgreSQL the
        commit does not wait for its WAL to reach the disk (``synchronous_commit``
        off). Others see it at once all the same; a server crash may forget the last
        fraction of a second of them, which costs repeats, never losses: a claim
        forgotten leaves its rows pending, a settle forgotten leaves them leased until
        reclaimed. SQLite's WAL mode with ``synchronous=NORMAL`` already commits that
        way. Raises ``StorageUnavailable`` when the database cannot take writes now.
        """
        try:
            with (
                self._turn_to_write(),
                self.engine.connect().execution_options(hookline_write=True) as conn,
            ):
                committed = None
                with conn.begin():
                    if conn.dialect.name == "postgresql":
                        committed = self._commit_wait(conn, wait_for_disk)
                    yield conn
                if committed is not None:
                    committed()
        except (sa_exc.DBAPIError, sqlite3.Error) as exc:
            if not cannot_write_now(exc):
                raise
            self.write_health.failed(describe(exc))
            raise StorageUnavailable(describe(exc)) from exc
        self.write_health.succeeded()

    def _commit_wait(self, conn: Connection, wait_for_disk: bool) -> Callable[[], None] | None:
        """Whether this transaction's commit waits for the disk, set in as few round trips
        as can be; answers what to note once it has committed.

        ``SET LOCAL`` for every worker round was a round trip of its own, one of the
        six or so a round makes. So a connection keeps the setting for its session
        (``SET``), and its pool entry remembers which it has: only a transaction that
        wants the other one pays for the change. A ``SET`` is undone with its
        transaction, so the entry learns it only after the commit. Behind a transaction
        pooler a session setting would reach other clients' transactions: ``SET LOCAL``.
        """
        if self.transaction_pooled:
            if not wait_for_disk:
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            return None
        wanted = "DEFAULT" if wait_for_disk else "OFF"  # DEFAULT: the server's own setting
        info = conn.connection.info  # the DBAPI connection's, kept while it lives
        if info.get(_COMMIT_WAIT, "DEFAULT") == wanted:
            return None
        conn.exec_driver_sql(f"SET synchronous_commit TO {wanted}")
        info[_COMMIT_WAIT] = "unknown"  # until the commit: a rollback undoes the SET
        return lambda: info.__setitem__(_COMMIT_WAIT, wanted)

    @contextmanager
    def _turn_to_write(self) -> Iterator[None]:
        """Wait for this process's other writers (SQLite); PostgreSQL has row locks."""
        if self._writers is None:
            yield
            return
        if not self._writers.acquire(timeout=WRITE_LOCK_TIMEOUT):
            raise sqlite3.OperationalError("database is locked (by this process's writers)")
        try:
            yield
        finally:
            self._writers.release()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction; ``StorageUnavailable`` when the database is out of reach."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except (sa_exc.DBAPIError, sqlite3.Error) as exc:
            if not cannot_write_now(exc):
                raise
            raise StorageUnavailable(describe(exc)) from exc

    def autovacuum_off(self) -> bool:
        """PostgreSQL with autovacuum off: every claim and settle leaves a dead row in
        ``deliveries`` that nothing clears, and the server's CPU per delivery grows
        with them (in ``make bench`` 64-71% of a core where 43-52% did with it on)."""
        if self.dialect != "postgresql":
            return False
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("SHOW autovacuum").scalar() == "off"

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def checkpoint(self) -> None:
        """Copy SQLite's WAL back into the database file without blocking anyone.

        Long-running processes (serve, worker) call this from a background thread so
        that no writer pays for a checkpoint inside its own commit; see
        ``_configure_sqlite``. A no-op on PostgreSQL.
        """
        if self.dialect == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def dispose(self) -> None:
        self.engine.dispose()


def create_database(
    url: str, *, transaction_pooled: bool = False, **engine_kwargs: Any
) -> Database:
    """An engine for ``url``; ``transaction_pooled`` when it is a transaction pooler's.

    psycopg prepares a statement on the server after its fifth run on a connection, and
    names it per connection; behind a transaction pooler (PgBouncer before 1.21) the
    next run may reach another server connection, where that name is unknown or taken.
    ``prepare_threshold=None`` keeps every statement unnamed there. The direct path keeps
    psycopg's default.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_sqlite_file(Path(parsed.database))
        engine = create_engine(url, hide_parameters=True, **engine_kwargs)
        _configure_sqlite(engine)
    else:
        if transaction_pooled:
            connect_args = {**engine_kwargs.pop("connect_args", {}), "prepare_threshold": None}
            engine_kwargs["connect_args"] = connect_args
        engine = create_engine(url, hide_parameters=True, **engine_kwargs)
        _ping_when_idle(engine)
    return Database(engine, transaction_pooled=transaction_pooled)


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pre-ping, for connections that rested ``PING_AFTER_IDLE`` seconds.

    A connection the server dropped (a restart, ``pg_terminate_backend``, an idle
    timeout) is replaced at checkout instead of failing the next transaction. Pinging
    every checkout (``pool_pre_ping``) was a round trip before every transaction: one
    of the six or so of a worker's round, one of the seven of a one-event ingest. A
    connection back in use within a second is not pinged; should the server have
    dropped it meanwhile, its transaction fails as one during the outage would
    (``StorageUnavailable``: the API's 503, a worker's back-off) and the disconnect
    makes SQLAlchemy replace every connection of the pool at once.
    """

    @event.listens_for(engine, "checkin")
    def returned(dbapi_connection: Any, entry: Any) -> None:
        entry.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping(dbapi_connection: Any, entry: Any, proxy: Any) -> None:
        returned_at = entry.info.get(_RETURNED_AT)  # none yet: a connection just made
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa_exc.InvalidatePoolError(str(exc)) from exc


PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_sqlite_file(path: Path) -> None:
    """The database file exists, readable by its owner only, before SQLite opens it.

    It holds tokens' hashes, sealed secrets and every event's data. SQLite creates the
    ``-wal`` and ``-shm`` files with the database file's mode, so setting that one is
    enough for new files; ones left by an older version are narrowed too. A directory
    made here is 0700, like the key file's.
    """
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o077:
                file.chmod(mode & ~0o077)
        except FileNotFoundError:  # no -wal or -shm between two runs: nothing to narrow
            continue


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and our own BEGIN so writers can say IMMEDIATE.

    pysqlite's implicit transactions would start writers as DEFERRED, which lets two
    writers read the same count and then both insert; taking the write lock at BEGIN
    closes that gap.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Commits checkpoint only past 16 MiB of WAL (the default is 4 MiB): the serve
        # and worker processes checkpoint every second in the background instead, so a
        # writer rarely stalls its commit copying pages. Short-lived commands keep the
        # automatic one, and the last connection to close checkpoints anyway.
        cursor.execute("PRAGMA wal_autocheckpoint=4096")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("hookline_write"):
            _begin_immediate(conn.connection.driver_connection)
        else:
            conn.exec_driver_sql("BEGIN")


def _begin_immediate(dbapi_conn: Any) -> None:
    """Take SQLite's write lock, retrying every millisecond or so for up to 10 s.

    SQLite's own busy handler backs off to sleeps of 10, 25, 50, 100 ms, so under
    steady contention (API ingest and workers all writing) the lock sat free while
    every waiter slept. A short busy timeout plus this loop keeps the lock busy.
    """
    deadline = time.monotonic() + WRITE_LOCK_TIMEOUT
    dbapi_conn.execute(f"PRAGMA busy_timeout={SHORT_BUSY_MS}")
    try:
        while True:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
