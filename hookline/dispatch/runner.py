"""Running a worker: the tasks that live beside it (its wake-up listener, the checkpointer).

``hookline serve`` (embedded) and ``hookline worker`` (standalone) both start workers
through ``run_worker``, so the wake-up listener and the SQLite checkpointer come along
whichever way a worker runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from hookline.dispatch.ports import WorkQueue
from hookline.dispatch.wakeup import Listen, listen_postgres, listen_sqlite, sqlite_wake_dir
from hookline.dispatch.worker import Worker

log = logging.getLogger(__name__)
RESTART_AFTER = 1.0  # seconds
Companion = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
"""A job that runs beside the worker until the event is set (the SurveyCake intake job)."""


async def checkpoint_periodically(
    queue: WorkQueue, stop: asyncio.Event, every: float = 1.0
) -> None:
    """SQLite: checkpoint the WAL off the writers' path (see ``Database.checkpoint``)."""
    if queue.dialect != "sqlite":
        return
    while not stop.is_set():
        with contextlib.suppress(Exception):  # a busy checkpoint simply waits for the next
            await asyncio.to_thread(queue.checkpoint)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def _logged(listening: Coroutine[Any, Any, None], worker: Worker) -> None:
    """A listener that fails is said at once; the worker goes on by polling alone."""
    try:
        await listening
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception(
            "worker %s: wake-ups from other processes are off (their listener failed);"
            " it finds new deliveries by polling every %g s",
            worker.name,
            worker.settings.poll_interval,
        )


async def run_worker(
    worker: Worker, listen: Listen | None = None, beside: Sequence[Companion] = ()
) -> None:
    """The worker loop plus a listener that wakes it when another process ingests.

    ``listen`` is what the settings chose (``bootstrap.wake_listener``); without one,
    PostgreSQL: LISTEN on the queue's own database. SQLite: a Unix datagram socket next
    to the database file.
    """
    stop = asyncio.Event()
    listener = None
    url = worker.queue.url
    wake_dir = sqlite_wake_dir(url)
    if listen is not None:
        listener = asyncio.create_task(_logged(listen(worker.wake, stop), worker))
    elif worker.queue.dialect == "postgresql":
        listener = asyncio.create_task(_logged(listen_postgres(url, worker.wake, stop), worker))
    elif wake_dir is not None:
        listener = asyncio.create_task(_logged(listen_sqlite(wake_dir, worker.wake, stop), worker))
    checkpointer = asyncio.create_task(checkpoint_periodically(worker.queue, stop))
    companions = [asyncio.create_task(job(stop)) for job in beside]
    try:
        await worker.run()
    finally:
        stop.set()
        await checkpointer
        await asyncio.gather(*companions, return_exceptions=True)
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


async def run_supervised(
    worker: Worker,
    listen: Listen | None = None,
    restart_after: float = RESTART_AFTER,
    beside: Sequence[Companion] = (),
) -> None:
    """``run_worker`` that never ends silently: a crash is logged at once and restarted.

    ``serve`` keeps answering while its embedded worker runs beside it; a worker that
    died there would accept events nobody delivers. The worker's own loop survives
    database failures; this catches what it did not foresee. Its in-flight sends and
    unwritten results live on the ``Worker`` and carry over to the next run.
    """
    while True:
        try:
            await run_worker(worker, listen, beside)
            return
        except Exception:
            log.exception("worker %s crashed; restarting it in %.1f s", worker.name, restart_after)
        if worker.stopping:
            return
        await asyncio.sleep(restart_after)
