"""The worker: claim due deliveries, send them concurrently, write the results back.

One "pump" coroutine owns every database call, run one at a time on a single thread:
settle the results gathered so far, claim as many due deliveries as there are free
sending slots, then wait for a send to finish, a wake-up, the next due time or the
poll interval. Results pile up while the database works, so writes batch themselves
under load and stay immediate when idle.

Shutdown (SIGTERM): stop claiming, let sends finish within ``shutdown_timeout``,
release the rest untouched, write every result, return.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from hookline.dispatch.ports import Transport, WorkQueue
from hookline.domain import wire
from hookline.domain.deliveries import AttemptResult, DueDelivery, Outgoing, Settlement
from hookline.domain.ids import new_id
from hookline.domain.settlement import settlement_for

log = logging.getLogger(__name__)
T = TypeVar("T")
BUSY_BACKOFF = 0.05  # seconds


@dataclass(frozen=True)
class WorkerSettings:
    concurrency: int = 200
    per_webhook_cap: int = 50
    lease_seconds: float = 60.0
    poll_interval: float = 1.0
    shutdown_timeout: float = 20.0
    maintenance_interval: float = 1.0  # reclaim this often: a dead worker's rows come back
    purge_interval: float = 5.0  # purge this often (it was the maintenance interval)
    heartbeat_interval: float = 1.0
    dead_after: float = 3.0  # seconds without a heartbeat: that worker is dead
    retention: timedelta = timedelta(days=30)
    purge_batches: int = 20  # per maintenance round, 500 events each
    linger: float = 0.005  # seconds to gather results before a database round
    settle_batch: int = 100  # ... unless this many are already waiting


def utcnow() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-6:]}"


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
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookline-db")
        self._sending: dict[str, asyncio.Task[None]] = {}
        self._results: list[Settlement] = []
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._last_maintenance = 0.0
        self._next_purge: datetime | None = None  # on the worker's clock
        self._beating: asyncio.Task[None] | None = None
        # its own thread: a long database round must not delay a beat; one thread, so
        # the sign-off is written after any beat still running
        self._beats = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookline-beat")
        self._secrets: dict[str, str] = {}
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

    async def _db_call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, lambda: fn(*args, **kwargs))

    # -- the loop ---------------------------------------------------------------

    async def run(self) -> None:
        """Work until ``stop()``; then finish or release in-flight work and return."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        log.info("worker %s started", self.name)
        try:
            await self._beat()  # alive before it holds any lease
            self._beating = asyncio.create_task(self._heartbeats())
            while not self._stopping:
                timeout = await self._pump()
                await self._wait(timeout)
            await self._drain()
            await self._sign_off()
        finally:
            if self._beating is not None:
                self._beating.cancel()
            self._beats.shutdown(wait=True)
            self._db.shutdown(wait=True)
            log.info("worker %s stopped after %d attempts", self.name, self.sent)

    async def run_until_idle(self) -> None:
        """Burst mode (tests, one-off runs): work until nothing is due or in flight."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        while True:
            await self._flush()
            if self._sending:
                await self._wait(None)
            elif not self._results and not await self._claim():
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

    async def _pump(self) -> float | None:
        """One round of database work; answers how long to wait before the next one.

        Results and the next claim share one write transaction: one lock, one commit.
        """
        if time.monotonic() - self._last_maintenance >= self.settings.maintenance_interval:
            self._last_maintenance = time.monotonic()
            await self._maintain()
        free = 0 if self._stopping else self.settings.concurrency - len(self._sending)
        claimed = await self._cycle(free)
        if self._stopping or self._sending or self._results:
            return None  # a finishing send will wake us
        if claimed == free:
            return 0.0
        due = await self._db_call(self.queue.next_due_at)
        wait = self.settings.poll_interval
        if due is not None:
            wait = min(wait, max(0.0, (due - self.clock()).total_seconds()))
            if wait == 0.0 and claimed == 0:
                # Due but not ours to take: its webhook is at its in-flight cap in other
                # workers (or, on PostgreSQL, locked by their claim). Spinning on it would
                # only fight them for the write lock.
                wait = min(self.settings.poll_interval, BUSY_BACKOFF)
        return wait

    async def _cycle(self, limit: int) -> int:
        """Write the results gathered so far and claim up to ``limit`` more."""
        batch, self._results = self._results, []
        if not batch and limit <= 0:
            return 0
        claimed = await self._db_call(self._settle_and_claim, batch, limit)
        for due in claimed:
            self._sending[due.id] = asyncio.create_task(self._deliver(due))
        return len(claimed)

    async def _claim(self) -> int:
        return await self._cycle(self.settings.concurrency - len(self._sending))

    def _settle_and_claim(self, batch: list[Settlement], limit: int) -> list[DueDelivery]:
        now = self.clock()
        return self.queue.settle_and_claim(
            batch,
            owner=self.name,
            now=now,
            lease_until=now + timedelta(seconds=self.settings.lease_seconds),
            limit=limit,
            per_webhook_cap=self.settings.per_webhook_cap,
        )

    async def _flush(self) -> None:
        if self._results:
            await self._cycle(0)

    async def _heartbeats(self) -> None:
        """Tell the other workers this one is alive, about once a second, whatever the loop does.

        Its own task and thread, so a long database round or a loop waiting on slow sends
        never makes a live worker look dead. A failed beat is logged and tried again; if
        beats keep failing, the others take this worker's leases: sent twice, not lost.
        """
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            try:
                await self._beat()
            except Exception:
                log.warning("worker %s: heartbeat not written", self.name, exc_info=True)

    async def _beat(self) -> None:
        name, now = self.name, self.clock()
        await asyncio.get_running_loop().run_in_executor(
            self._beats, lambda: self.queue.heartbeat(name, now)
        )

    async def _sign_off(self) -> None:
        """Stopped, rows released: drop the heartbeat row, so nothing counts this worker."""
        if self._beating is not None:
            self._beating.cancel()
            await asyncio.gather(self._beating, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(
            self._beats, lambda: self.queue.sign_off(self.name)
        )

    async def _reclaim(self) -> None:
        dead_after = timedelta(seconds=self.settings.dead_after)
        reclaimed = await self._db_call(
            self.queue.reclaim_expired, self.clock(), dead_after=dead_after
        )
        if reclaimed:
            log.warning(
                "reclaimed %d deliveries whose worker died or whose lease expired: the outcome"
                " of their last attempt is unknown (recorded as outcome_unknown), sent again",
                reclaimed,
            )

    async def _maintain(self) -> None:
        await self._reclaim()
        now = self.clock()
        if self._next_purge is None or now >= self._next_purge:
            self._next_purge = now + timedelta(seconds=self.settings.purge_interval)
            await self._purge()

    async def _purge(self) -> None:
        for _ in range(self.settings.purge_batches):
            purged = await self._db_call(
                self.queue.purge, self.clock(), retention_period=self.settings.retention
            )
            if not purged:
                break

    async def _drain(self) -> None:
        """Let in-flight sends finish (bounded), release what did not, write results."""
        if self._sending:
            _, pending = await asyncio.wait(
                list(self._sending.values()), timeout=self.settings.shutdown_timeout
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._flush()
        unsent = list(self._sending)
        if unsent:
            await self._db_call(self.queue.release, unsent, owner=self.name, now=self.clock())

    # -- one delivery -----------------------------------------------------------

    def _decrypt(self, ciphertext: str) -> str:
        secret = self._secrets.get(ciphertext)
        if secret is None:
            secret = self._secrets[ciphertext] = self.decrypt(ciphertext)
        return secret

    async def _deliver(self, due: DueDelivery) -> None:
        try:
            secrets = [self._decrypt(c) for c in due.secret_ciphertexts]
            started_at = self.clock()
            headers = wire.delivery_headers(
                secrets=secrets,
                idempotency_key=due.idempotency_key,
                body=due.body,
                sent_at=started_at,
            )
            result: AttemptResult = await self.sender.send(
                Outgoing(url=due.url, body=due.body, headers=headers)
            )
            self._results.append(
                settlement_for(
                    delivery_id=due.id,
                    webhook_id=due.webhook_id,
                    attempts_before=due.attempts,
                    policy=due.retry_policy,
                    result=result,
                    started_at=started_at,
                    now=self.clock(),
                    rng=self.rng,
                )
            )
            self.sent += 1
            del self._sending[due.id]
        except asyncio.CancelledError:
            raise  # still in _sending: released by _drain
        except Exception:
            log.exception("delivery %s could not be attempted; its lease will expire", due.id)
            self._sending.pop(due.id, None)
        finally:
            if self._event is not None:
                self._event.set()
