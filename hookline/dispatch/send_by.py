"""The last moment a rate-limited request may leave (``store.ratelimit``'s ``send_by``).

A lease of a rate-limited webhook is counted in the window of the moment it was taken,
so its request must reach the receiver soon after, or it lands in the receiver's next
second beside the next window's requests. The worker checks ``send_by`` before it
starts, but on a busy event loop most of the delay came after that check: in 2,500
rate-limited sends to a receiver in its own process, the request arrived 22 ms after
it at the median and 211 ms at worst, waiting for a connection and its turn on the
loop. So the sender checks
again when the connection is in hand, the last step before the request is written:
``DeadlineConnector`` answers ``SendTooLate`` instead of a connection then, and the
worker gives the lease back unsent (no attempt is made or counted).

The deadline travels in a context variable because aiohttp calls the connector with
the request only; each send is its own task, so one request's deadline never meets
another's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiohttp

_DEADLINE: ContextVar[float | None] = ContextVar("hookline_send_by", default=None)


class SendTooLate(Exception):
    """The request's window passed before a connection was ready: it was not sent."""


@contextmanager
def deadline(monotonic: float | None) -> Iterator[None]:
    """Requests made inside must have their connection by ``monotonic`` (``None``: any time)."""
    token = _DEADLINE.set(monotonic)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


class DeadlineConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` that refuses to hand over a connection after the deadline."""

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        conn = await super().connect(req, traces, timeout)
        limit = _DEADLINE.get()
        if limit is not None and time.monotonic() > limit:
            conn.release()  # back to the pool, unused: nothing was written on it
            raise SendTooLate(f"{(time.monotonic() - limit) * 1000:.0f} ms past its send-by time")
        return conn
