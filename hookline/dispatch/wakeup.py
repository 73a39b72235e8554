"""Wake-ups: how a worker learns that deliveries are due without waiting for its poll.

In one process the API calls ``Worker.wake`` directly. Across processes on PostgreSQL
an ingest transaction sends ``NOTIFY`` at commit and workers ``LISTEN``. A lost
notification only costs one poll interval: polling stays the fallback, never the plan.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from hookline.store.queue import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 2.0


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
