"""Wake-ups: how a worker learns that deliveries are due without waiting for its poll.

In one process the API calls ``Worker.wake`` directly. Across processes on PostgreSQL
an ingest transaction sends ``NOTIFY`` at commit and workers ``LISTEN``. SQLite has no
NOTIFY, but its workers all share one machine: each binds a Unix datagram socket in a
directory next to the database file, and ingest sends one byte to each after commit. A lost
notification only costs one poll interval: polling stays the fallback, never the plan.

LISTEN needs a session of its own. Behind a transaction-mode pooler (PgBouncer's
``pool_mode = transaction``) the server connection that ran LISTEN goes back to the
pool at once, so notifications would reach nobody: workers then LISTEN on a direct
URL (``HOOKLINE_LISTEN_DATABASE_URL``), or, without one, only poll (``poll_only``).
NOTIFY itself is sent inside the ingest transaction, so it works through the pooler.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import socket
import stat
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from hookline.store.queue import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 2.0

Listen = Callable[[Callable[[], None], asyncio.Event], Coroutine[Any, Any, None]]
"""A wake-up listener: calls its first argument when work may be due, until the event."""


async def poll_only(_on_notify: Callable[[], None], stop: asyncio.Event) -> None:
    """No listener: the worker's own poll interval is how it finds new work."""
    await stop.wait()


def postgres_listener(sqlalchemy_url: str) -> Listen:
    """LISTEN on ``sqlalchemy_url`` (which must reach PostgreSQL with a session of its own)."""

    async def listen(on_notify: Callable[[], None], stop: asyncio.Event) -> None:
        await listen_postgres(sqlalchemy_url, on_notify, stop)

    return listen


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://...`` as psycopg itself wants it."""
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


async def listen_postgres(
    sqlalchemy_url: str, on_notify: Callable[[], None], stop: asyncio.Event
) -> None:
    """Call ``on_notify`` for every NOTIFY until ``stop``; reconnect after failures."""
    url = libpq_url(sqlalchemy_url)
    while not stop.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                on_notify()  # anything committed while we were not listening
                async for _ in conn.notifies():
                    on_notify()
                    if stop.is_set():
                        return
        except (psycopg.Error, OSError) as exc:
            log.warning("LISTEN connection lost (%s); polling until it is back", type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), RECONNECT_SECONDS)
        except TimeoutError:
            continue


SOCKET_PATH_MAX = 100
"""Bytes a Unix socket path may have here (Linux: 108 with the final NUL); the socket's
own name (``<pid>-<hex>.sock``) takes up to about 25 of them."""
SOCKET_NAME_MAX = 25


def sqlite_wake_dir(sqlalchemy_url: str) -> Path | None:
    """Where workers sharing a SQLite file leave their wake-up sockets: next to the file,
    or, when that path is too long for a Unix socket, a private directory in the
    system's temporary directory named after the file (every process derives the same).
    """
    url = make_url(sqlalchemy_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    db = Path(url.database)
    beside = db.parent / f"{db.name}.wake"
    if len(os.fsencode(str(beside))) + SOCKET_NAME_MAX <= SOCKET_PATH_MAX:
        return beside
    digest = hashlib.sha256(os.fsencode(str(db.resolve()))).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"hookline-wake-{digest}"


def _private_dir(directory: Path) -> None:
    """Create ``directory`` for this user alone, or refuse one someone else made."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(f"{directory} is not a directory of this user's")


def notify_sqlite_workers(directory: Path) -> None:
    """SQLite's NOTIFY: one datagram to each worker's socket; forget those of dead workers.

    Ingest calls this after its commit. It never blocks and never fails the caller: a
    worker that misses it still finds the work at its next poll.
    """
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for name in names:
            if not name.endswith(".sock"):
                continue
            path = directory / name
            try:
                sock.sendto(b"!", str(path))
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    path.unlink()  # its worker is gone
            except (BlockingIOError, OSError):
                pass  # its queue is full: it has been told already


async def listen_sqlite(
    directory: Path, on_notify: Callable[[], None], stop: asyncio.Event
) -> None:
    """Receive ``notify_sqlite_workers`` datagrams until ``stop``."""
    _private_dir(directory)
    path = directory / f"{os.getpid()}-{secrets.token_hex(4)}.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(str(path))
    loop = asyncio.get_running_loop()

    def drain() -> None:
        with contextlib.suppress(BlockingIOError):
            while sock.recv(64):
                pass
        on_notify()

    loop.add_reader(sock.fileno(), drain)
    try:
        await stop.wait()
    finally:
        loop.remove_reader(sock.fileno())
        sock.close()
        with contextlib.suppress(OSError):
            path.unlink()
