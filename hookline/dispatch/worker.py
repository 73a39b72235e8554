"""The worker: claim due deliveries, send them concurrently, write the results back.

One "pump" coroutine owns every database call, run one at a time on a single thread:
settle the results gathered so far, claim as many due deliveries as there are free
sending slots, then wait for a send to finish, a wake-up, the next due time or the
poll interval. Results pile up while the database works, so writes batch themselves
under load and stay immediate when idle.

The wait always has a deadline: the next due time, the poll interval and the next
maintenance round, so a retry is claimed on time however long other sends hang.

A queue call that fails (a full disk, a read-only file, a terminated connection) does
not end the loop: the results it carried stay in memory, the failure is logged once
per streak, and the loop backs off (``backoff.FaultStreak``) before trying again.

Shutdown (SIGTERM): stop claiming, let sends finish within ``shutdown_timeout``,
release the rest untouched, write every result, return.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

from hookline import metrics
from hookline.dispatch.backoff import FAILED, Failed, FaultStreak, retry_until
from hookline.dispatch.due import DueTimes
from hookline.dispatch.heartbeat import Heartbeat
from hookline.dispatch.ports import Transport, WorkQueue
from hookline.dispatch.send_by import SendTooLate
from hookline.dispatch.sending import Sending
from hookline.dispatch.settings import WorkerSettings, utcnow, worker_name
from hookline.dispatch.signing import SignedAttempts
from hookline.domain.deliveries import DueDelivery, InFlight, Round, Settlement
from hookline.domain.settlement import settlement_of

log = logging.getLogger(__name__)
T = TypeVar("T")
BUSY_BACKOFF = 0.05  # seconds


class Worker:
    """Claims from ``queue``, sends through ``sender``, signs with secrets ``decrypt`` opens.

    It never opens a transaction itself: every database round is one ``queue`` call,
    run on a single background thread so the event loop keeps sending meanwhile.
    """

    def __init__(
        self,
        *,
        queue: WorkQueue,
        sender: Transport,
        decrypt: Callable[[str], str],
        settings: WorkerSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        name: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.queue = queue
        self.sender = sender
        self.decrypt = decrypt
        self.clock = clock
        self.settings = settings or WorkerSettings()
        self.name = name or worker_name()
        self.rng = rng or random.Random()  # noqa: S311 - retry jitter
        self._db = self._new_executor()
        self._sending = Sending()
        self._results: list[Settlement] = []
        self._unreturned: set[str] = set()  # leases to give back a failed call could not
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._last_maintenance = 0.0
        self._next_purge: datetime | None = None  # on the worker's clock, as retention is
        self._signed = SignedAttempts(sender, decrypt)
        self._faults = FaultStreak(
            self.name,
            base=self.settings.backoff_base,
            cap=self.settings.backoff_cap,
            rng=random.Random(),  # noqa: S311 - back-off jitter
        )
        self._due = DueTimes(self.settings.poll_interval)
        self.sent = 0
        self.idle = False  # waiting with nothing in flight: only a wake-up or the poll moves it

    # -- wake-ups ---------------------------------------------------------------

    def wake(self) -> None:
        """Thread-safe: new deliveries are due (called by the API or a NOTIFY)."""
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)

    def stop(self) -> None:
        """Thread-safe: begin a graceful stop."""
        self._stopping = True
        self.wake()

    @property
    def stopping(self) -> bool:
        return self._stopping

    @staticmethod
    def _new_executor() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookline-db")

    async def _db_call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, lambda: fn(*args, **kwargs))

    async def _queue_call(
        self, what: str, fn: Callable[..., T], *args: object, carrying: int = 0, **kwargs: object
    ) -> T | Failed:
        """``fn`` on the database thread; a failure is logged, counted and answered as FAILED.

        Every exception counts, not only known outages: a worker that stops delivering
        because of one odd error is worse than one that retries it with back-off.
        """
        try:
            result = await self._db_call(fn, *args, **kwargs)
        except Exception as exc:
            self._faults.failed(what, exc, unwritten=len(self._results) + carrying)
            return FAILED
        self._faults.succeeded(what)
        return result

    # -- the loop ---------------------------------------------------------------

    async def run(self) -> None:
        """Work until ``stop()``; then finish or release in-flight work and return."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        log.info("worker %s started", self.name)
        heartbeat = Heartbeat(self.queue, self.name, self.clock, self.settings.heartbeat_interval)
        drained = False
        try:
            await heartbeat.start()
            while not self._stopping:
                timeout = await self._pump()
                if self._faults.failing:
                    await self._back_off(self._faults.delay)
                else:
                    await self._wait(timeout)
            await self._drain()
            drained = True
        finally:
            await heartbeat.stop(sign_off=drained)
            self._db.shutdown(wait=True)
            self._db = self._new_executor()  # so that a supervisor may run it again
            log.info("worker %s stopped after %d attempts", self.name, self.sent)

    async def run_until_idle(self) -> None:
        """Burst mode (tests, one-off runs): work until nothing is due or in flight."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        while True:
            if self._faults.failing:  # retry the failed write (and claim) after a pause
                await self._back_off(self._faults.delay)
                await self._claim()
                continue
            await self._flush()
            if self._faults.failing:
                continue
            if self._sending:
                await self._wait(None)
            elif not self._results and not await self._claim() and not self._faults.failing:
                return  # nothing sending, nothing to write, nothing due

    async def _wait(self, timeout: float | None) -> None:
        assert self._event is not None
        if not self._event.is_set():
            self.idle = not self._sending and not self._results
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout)
            self.idle = False
        if self._sending and len(self._results) < self.settings.settle_batch:
            # Let a few more sends finish: one database round for many results costs
            # far less than one per result, and ``linger`` bounds the added delay.
            await asyncio.sleep(self.settings.linger)
        self._event.clear()

    async def _back_off(self, delay: float) -> None:
        """Wait ``delay`` after a failed queue call; finishing sends do not cut it short."""
        assert self._event is not None
        deadline = time.monotonic() + delay
        while not self._stopping and (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), left)
            self._event.clear()

    async def _pump(self) -> float:
        """One round of database work; answers how long to wait before the next one.

        Results and the next claim share one write transaction: one lock, one commit.
        """
        if time.monotonic() - self._last_maintenance >= self.settings.maintenance_interval:
            self._last_maintenance = time.monotonic()
            await self._maintain()
        free = 0 if self._stopping else self.settings.concurrency - len(self._sending)
        claimed = await self._cycle(free)
        return await self._next_wait(claimed)

    def _until_maintenance(self) -> float:
        since = time.monotonic() - self._last_maintenance
        return max(0.0, self.settings.maintenance_interval - since)

    async def _next_wait(self, claimed: int) -> float:
        """Until the next due time, the poll or the next maintenance, whichever is first.

        A finishing send or a wake-up ends the wait sooner; nothing makes it longer, so
        a retry due in a second is claimed in a second even while other sends hang.
        """
        wait = min(self.settings.poll_interval, self._until_maintenance())
        if self._stopping or len(self._sending) >= self.settings.concurrency:
            return wait  # no slot to fill: only a finishing send (it wakes us) matters
        due = await self._next_due()
        if due is not None:
            until_due = max(0.0, (due - self.clock()).total_seconds())
            if until_due == 0.0 and claimed == 0:
                # Due but not ours to take: its webhook is at its in-flight cap in other
                # workers (or, on PostgreSQL, locked by their claim). Spinning on it would
                # only fight them for the write lock.
                until_due = BUSY_BACKOFF
            wait = min(wait, until_due)
        return wait

    async def _next_due(self) -> datetime | None:
        if self._due.needs_read(sending=bool(self._sending)):
            due = await self._queue_call("reading the next due time", self.queue.next_due_at)
            if isinstance(due, Failed):
                return None
            self._due.read(due)
        return self._due.known()

    async def _cycle(self, limit: int) -> int:
        """Write the results gathered so far and claim up to ``limit`` more."""
        if self._unreturned:
            await self._give_back([])
        batch, self._results = self._results, []
        if not batch and limit <= 0:
            return 0
        # Idle after this round unless it leases something: then it needs the next due
        # time, which the round reads in its own transaction if it leased nothing.
        peek = limit > 0 and self._due.must_read(sending=bool(self._sending))
        # what its live peers' published loads add up with (read here, on the loop)
        peers = self.clock() - timedelta(seconds=self.settings.dead_after)
        mine = InFlight(self._sending.per_webhook(), peers_alive_since=peers)
        call = (self._settle_and_claim, batch, limit, peek, mine)
        done = await self._queue_call("settle and claim", *call, carrying=len(batch))
        if isinstance(done, Failed):
            self._keep_unwritten(batch)
            return 0
        self._faults.written()
        metrics.record_settled(batch)
        self._due.scheduled(batch)
        if done.peeked:
            self._due.read(done.next_due_at, by_round=True)  # after the settle: its retries in
        for due in done.leased:
            self._sending.start(due, asyncio.create_task(self._deliver(due)))
        return len(done.leased)

    async def _claim(self) -> int:
        return await self._cycle(self.settings.concurrency - len(self._sending))

    def _keep_unwritten(self, batch: list[Settlement]) -> None:
        """Put results whose write failed back in front, to go with the next write.

        An outage keeps them for as long as it lasts: the worker claims nothing
        meanwhile, so they are bounded by its sending slots. A batch that keeps
        failing for another reason is dropped (``FaultStreak.gives_up_on``).
        """
        if not self._faults.gives_up_on([s.delivery_id for s in batch]):
            self._results[:0] = batch

    def _settle_and_claim(
        self, batch: list[Settlement], limit: int, peek: bool, in_flight: InFlight
    ) -> Round:
        now = self.clock()
        self._due.claimed(now)
        return self.queue.round(
            batch,
            owner=self.name,
            now=now,
            lease_until=now + timedelta(seconds=self.settings.lease_seconds),
            limit=limit,
            per_webhook_cap=self.settings.per_webhook_cap,
            peek=peek,
            in_flight=in_flight,
        )

    async def _give_back(self, ids: list[str]) -> bool:
        """Leases that sent nothing (late for a rate limit, or unsent at a stop) go back
        to pending. A failed call's are tried each round, not left to expire into an
        attempt never made; answers whether none is left."""
        self._unreturned.update(ids)
        batch = sorted(self._unreturned)
        release = self.queue.release
        given = await self._queue_call(
            "giving back leases", release, batch, owner=self.name, now=self.clock()
        )
        if not isinstance(given, Failed):
            self._unreturned.difference_update(batch)
        return not self._unreturned

    async def _flush(self) -> None:
        if self._results:
            await self._cycle(0)

    async def _maintain(self) -> None:
        """Reclaim every round (a dead worker's rows come back within seconds); purge
        every ``purge_interval``. A failed call is tried again next round."""
        reclaimed = await self._queue_call(
            "reclaiming leases",
            self.queue.reclaim_expired,
            self.clock(),
            dead_after=timedelta(seconds=self.settings.dead_after),
            alive=self.name,
        )
        if reclaimed and not isinstance(reclaimed, Failed):
            metrics.record_reclaimed(reclaimed)
            log.warning(
                "reclaimed %d deliveries whose worker died or whose lease expired: the outcome"
                " of their last attempt is unknown (recorded as outcome_unknown), sent again",
                reclaimed,
            )
        now = self.clock()
        if self._next_purge is None or now >= self._next_purge:
            self._next_purge = now + timedelta(seconds=self.settings.purge_interval)
            await self._purge()

    async def _purge(self) -> None:
        for _ in range(self.settings.purge_batches):
            purged = await self._queue_call(
                "purging old events",
                self.queue.purge,
                self.clock(),
                retention_period=self.settings.retention,
            )
            if isinstance(purged, Failed) or not purged:
                break

    async def _drain(self) -> None:
        """Let in-flight sends finish (bounded), release what did not, write results."""
        if self._sending:
            _, pending = await asyncio.wait(
                self._sending.tasks(), timeout=self.settings.shutdown_timeout
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        deadline = time.monotonic() + self.settings.shutdown_timeout
        if not await retry_until(self._written_all, self._faults, deadline):
            log.error("worker %s stopped with %d results unwritten", self.name, len(self._results))
        unsent = list(self._sending)
        if (unsent or self._unreturned) and not await retry_until(
            lambda: self._give_back(unsent), self._faults, deadline
        ):
            log.error(
                "worker %s could not release %d unsent deliveries", self.name, len(self._unreturned)
            )

    async def _written_all(self) -> bool:
        await self._flush()
        return not self._results

    # -- one delivery -----------------------------------------------------------

    async def _deliver(self, due: DueDelivery) -> None:
        try:
            started_at = self.clock()
            try:  # a rate-limited lease past its send_by (store.ratelimit) goes back unsent
                if due.send_by is not None and started_at > due.send_by:
                    raise SendTooLate("the worker reached it late")
                result = await self._signed.attempt(due, started_at)  # or its connection was
            except SendTooLate:
                await self._give_back([due.id])  # still in _sending: a stop waits for it
                self._sending.finish(due.id)
                return
            self._results.append(
                settlement_of(due, result, started_at=started_at, now=self.clock(), rng=self.rng)
            )
            self.sent += 1
            self._sending.finish(due.id)
        except asyncio.CancelledError:
            raise  # still in _sending: released by _drain
        except Exception:
            log.exception("delivery %s could not be attempted; its lease will expire", due.id)
            self._sending.finish(due.id)
        finally:
            if self._event is not None:
                self._event.set()
