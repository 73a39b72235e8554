"""How the worker lives through a database that fails: log once, back off, carry on.

A full disk, a read-only file or a terminated connection fails every queue call until
it is fixed. The worker must neither die nor hammer the database, nor fill the log
with one line per try: the first failure of a streak is logged (class and message,
never SQL or parameters), the next ones only counted, and the recovery is logged
with how long it took. Each failure waits longer than the one before, with jitter so
that several workers do not retry in step, up to ``cap`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from hookline.domain.errors import StorageUnavailable
from hookline.store.faults import describe

log = logging.getLogger("hookline.dispatch.worker")


UNEXPECTED_TRIES = 5  # writes of one batch failing for an unknown reason before it is dropped


class Failed:
    """What a failed queue call answers (the failure is logged and counted already)."""


FAILED = Failed()


async def retry_until(
    attempt: Callable[[], Awaitable[bool]], streak: FaultStreak, deadline: float
) -> bool:
    """At stop: try ``attempt``, backing off after failures, until ``deadline``.

    What is still unwritten then is not lost: those deliveries stay leased and are sent
    again when their lease expires (at least once).
    """
    while not await attempt():
        if time.monotonic() + streak.delay > deadline:
            return False
        await asyncio.sleep(streak.delay)
    return True


class FaultStreak:
    """Consecutive failed queue calls of one worker, and the back-off they earn."""

    def __init__(self, worker: str, *, base: float, cap: float, rng: random.Random) -> None:
        self.worker = worker
        self.base = base
        self.cap = cap
        self.rng = rng
        self.failures = 0
        self.started = 0.0
        self.delay = 0.0
        """The wait the last failure earned (0 while the database works)."""
        self.last_error: BaseException | None = None
        self.begun_by = ""  # the kind of call whose failure began the streak
        self.unexpected = 0  # unexplained failures writing the same results, in a row

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def failed(self, what: str, exc: BaseException, unwritten: int) -> float:
        """Count one failure; answers how long to wait before the next queue call."""
        self.last_error = exc
        if not self.failures:
            self.started = time.monotonic()
            self.begun_by = what
            self._log_first(what, exc, unwritten)
        else:
            log.debug("worker %s: %s failed again (%s)", self.worker, what, _cause(exc))
        self.failures += 1
        nominal = min(self.cap, self.base * 2 ** (self.failures - 1))
        self.delay = nominal * (0.5 + self.rng.random() / 2)  # never shorter than the last
        return self.delay

    def _log_first(self, what: str, exc: BaseException, unwritten: int) -> None:
        if isinstance(exc, StorageUnavailable):
            log.error(
                "worker %s: %s failed, the database is unavailable (%s); keeping %d"
                " unwritten results and retrying with back-off",
                self.worker,
                what,
                _cause(exc),
                unwritten,
            )
        else:  # not a known outage: the traceback says where (parameters are hidden)
            log.exception(
                "worker %s: %s failed (%s); keeping %d unwritten results and retrying",
                self.worker,
                what,
                describe(exc),
                unwritten,
            )

    def succeeded(self, what: str) -> None:
        """A ``what`` call worked. Only the kind of call that began the streak ends it: on
        a full disk a read, or a write with nothing to change, still works while every
        real write fails, and ending the streak there would log the outage again and
        again, and cut the back-off short."""
        if self.failures and what != self.begun_by:
            return
        if self.failures:
            log.info(
                "worker %s: the database works again after %d failed calls in %.1f s",
                self.worker,
                self.failures,
                time.monotonic() - self.started,
            )
        self.failures, self.delay = 0, 0.0

    def written(self) -> None:
        self.unexpected = 0

    def gives_up_on(self, delivery_ids: list[str]) -> bool:
        """After a failed write of these results: drop them rather than retry for ever?

        Only a failure that is not an outage, ``UNEXPECTED_TRIES`` times in a row: one
        bad row must not stop the worker for good. Those deliveries stay leased and are
        sent again when their lease expires (at least once, never lost).
        """
        if not delivery_ids or isinstance(self.last_error, StorageUnavailable):
            return False
        self.unexpected += 1
        if self.unexpected < UNEXPECTED_TRIES:
            return False
        log.error(
            "worker %s: dropping %d results that failed to be written %d times; they are"
            " sent again when their lease expires: %s",
            self.worker,
            len(delivery_ids),
            self.unexpected,
            ", ".join(delivery_ids[:20]),
        )
        self.unexpected = 0
        return True


def _cause(exc: BaseException) -> str:
    return exc.cause if isinstance(exc, StorageUnavailable) else describe(exc)
