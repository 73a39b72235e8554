"""A worker's heartbeat: the row that tells the other workers it is alive.

A worker SIGKILLed while it holds leases would otherwise block its webhooks until those
leases expire (a minute): the others reclaim the rows of a worker whose heartbeat is
older than ``dead_after`` (``DeliveryQueue.reclaim_expired``). The beat runs as its own
task on its own thread, so a long database round or a loop waiting on slow sends never
makes a live worker look dead; one thread, so the sign-off is written after any beat
still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from hookline.dispatch.ports import WorkQueue

log = logging.getLogger(__name__)


class Heartbeat:
    """Beats every ``interval`` seconds from ``start`` until ``stop``."""

    def __init__(
        self, queue: WorkQueue, name: str, clock: Callable[[], datetime], interval: float
    ) -> None:
        self._queue = queue
        self._name = name
        self._clock = clock
        self._interval = interval
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookline-beat")
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Beat once (alive before holding any lease), then keep beating in the background.

        A first beat that fails is logged, not fatal: without a row this worker's leases
        simply fall back to expiring, as they did before heartbeats.
        """
        await self._beat_logged()
        self._task = asyncio.create_task(self._run())

    async def stop(self, *, sign_off: bool) -> None:
        """Stop beating; with ``sign_off`` (its rows released) drop the row, so nothing
        counts this worker as alive any more."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            if sign_off:
                await self._in_thread(lambda: self._queue.sign_off(self._name))
        except Exception:  # the row goes stale and the others delete it
            log.warning("worker %s: heartbeat row not removed", self._name, exc_info=True)
        finally:
            self._thread.shutdown(wait=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._beat_logged()

    async def _beat_logged(self) -> None:
        """A failed beat is logged and tried again; if beats keep failing, the others
        take this worker's leases: sent twice, never lost."""
        name, now = self._name, self._clock()
        try:
            await self._in_thread(lambda: self._queue.heartbeat(name, now))
        except Exception:
            log.warning("worker %s: heartbeat not written", name, exc_info=True)

    async def _in_thread(self, fn: Callable[[], object]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, fn)
