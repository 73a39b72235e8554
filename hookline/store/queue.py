"""The delivery queue manager: every transaction the worker needs, and nothing else.

Modelled on procrastinate's JobManager: the worker asks for work and hands results
back; the manager opens and commits each transaction, so the worker never holds a
``Connection``. The row-level SQL lives in ``claims`` (queue entries), ``health``
(failing periods, stops) and ``retention`` (purges).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text

from hookline.domain.deliveries import DeliveryState, DueDelivery, InFlight, Round, Settlement
from hookline.domain.models import StopReason
from hookline.domain.settlement import failing_too_long, health_of
from hookline.store import (
    claims,
    health,
    ordering,
    pauses,
    ratelimit,
    retention,
    settles,
    workers,
)
from hookline.store.db import Database

NOTIFY_CHANNEL = "hookline_deliveries"
DEFAULT_FAILING_PERIOD = timedelta(days=5)


def notify(conn: Connection) -> None:
    """Wake PostgreSQL workers in other processes when this transaction commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


@dataclass(frozen=True)
class Lease:
    """A delivery leased for a resend, and what it was before: a failed resend restores it."""

    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None


class DeliveryQueue:
    """Claim, settle, release, reclaim and purge deliveries, one transaction per call."""

    def __init__(
        self,
        db: Database,
        *,
        failing_period: timedelta = DEFAULT_FAILING_PERIOD,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.db = db
        self.failing_period = failing_period
        """A webhook whose every attempt failed this long is stopped as ``failing``."""
        self.clock = clock
        """The clock callers' ``now`` comes from: a rate limit stamps its leases with it."""
        self._purge_steps = retention.PurgeSteps()

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @property
    def url(self) -> str:
        """The database URL, password included: wake-up listeners connect with it."""
        return self.db.engine.url.render_as_string(hide_password=False)

    def checkpoint(self) -> None:
        self.db.checkpoint()

    def settle_and_claim(
        self,
        settlements: Sequence[Settlement],
        *,
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        per_webhook_cap: int,
    ) -> list[DueDelivery]:
        """Write results and lease up to ``limit`` due deliveries: one lock, one commit."""
        return self.round(
            settlements,
            owner=owner,
            now=now,
            lease_until=lease_until,
            limit=limit,
            per_webhook_cap=per_webhook_cap,
            peek=False,
        ).leased

    def round(
        self,
        settlements: Sequence[Settlement],
        *,
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        per_webhook_cap: int,
        peek: bool,
        in_flight: InFlight | None = None,
    ) -> Round:
        """``settle_and_claim``; with ``peek``, a claim that leased nothing also reads the
        next due time, in the same transaction.

        The commit does not wait for the disk (``Database.write``): the claim is sent
        right after it, and on PostgreSQL waiting for the WAL flush was most of the
        time between an ingest's commit and the request. A worker left idle by a round
        needs the next due time; read in a transaction of its own it cost a connection
        check, a BEGIN and a COMMIT more, on every event at low load.
        """
        with self.db.write(wait_for_disk=False) as conn:
            self._settle_in(conn, settlements, now, owner=owner)
            if limit <= 0:
                return Round([])
            claimed = claims.claim(
                conn,
                owner=owner,
                now=now,
                lease_until=lease_until,
                limit=limit,
                per_webhook_cap=per_webhook_cap,
                in_flight=in_flight,
            )
            due, heads = claimed.leased, []
            if claimed.fifo_webhooks:  # FIFO webhooks' next deliveries (store.ordering)
                heads = ordering.claim_heads(
                    conn, owner=owner, now=now, lease_until=lease_until, limit=limit - len(due)
                )
            leased = due + claims.load_due(conn, heads, now) if heads else due
            leased = ratelimit.admit(conn, leased, now, clock=self.clock)  # (store.ratelimit)
            if not peek or leased:
                return Round(leased)
            if claimed.next_due_known and not heads:  # nothing changed since it looked
                return Round([], peeked=True, next_due_at=claimed.next_due_at)
            return Round([], peeked=True, next_due_at=claims.next_due_at(conn))

    def settle(self, settlements: Sequence[Settlement], now: datetime, *, owner: str | None) -> int:
        """Record attempts and states; answers how many delivery rows changed."""
        if not settlements:
            return 0
        with self.db.write() as conn:
            return self._settle_in(conn, settlements, now, owner=owner)

    def _settle_in(
        self,
        conn: Connection,
        settlements: Sequence[Settlement],
        now: datetime,
        *,
        owner: str | None,
    ) -> int:
        """``settle`` inside a transaction: then stop webhooks that answered 410 or kept failing.

        With an ``owner``, only rows it still leases change; the attempt is recorded anyway.
        """
        if not settlements:
            return 0
        verdict = health_of(settlements)
        changed = settles.write_settlements(
            conn, settlements, now, owner=owner, healed=verdict.healthy
        )
        pauses.pause_from(conn, settlements)  # 429/503 + Retry-After holds the webhook
        health.stop_webhooks(conn, verdict.gone, StopReason.GONE, now)
        since = health.continue_failing(conn, verdict.failing, now)
        failing = [
            w for w in failing_too_long(since, now, self.failing_period) if w not in verdict.gone
        ]
        health.stop_webhooks(conn, failing, StopReason.FAILING, now)
        if verdict.gone or failing or any(s.state is DeliveryState.PENDING for s in settlements):
            # a retry scheduled for a webhook stopped meanwhile must not stay behind
            health.cancel_for_stopped(conn, sorted({s.webhook_id for s in settlements}), now)
        return changed

    def next_due_at(self) -> datetime | None:
        with self.db.read() as conn:
            return claims.next_due_at(conn)

    def reclaim_expired(
        self, now: datetime, *, dead_after: timedelta | None = None, alive: str | None = None
    ) -> int:
        """Put back the rows of workers whose lease ran out or who stopped beating.

        ``dead_after``: a worker whose heartbeat is older is dead. ``alive``: the caller,
        alive by definition, even if its own beats failed lately (a flaky connection):
        its rows come back only when their lease expires. Each row put back gets an
        ``outcome_unknown`` attempt (``claims.reclaim_expired``).
        """
        dead_before = None if dead_after is None else now - dead_after
        with self.db.write() as conn:
            return claims.reclaim_expired(conn, now, dead_before=dead_before, alive=alive)

    def release(self, ids: Sequence[str], *, owner: str, now: datetime) -> int:
        """Give leased rows back untouched (a worker stopping before it sent them)."""
        if not ids:
            return 0
        with self.db.write() as conn:
            return claims.release(conn, ids, owner, now)

    def heartbeat(self, name: str, now: datetime) -> None:
        """This worker is alive: its leases hold until they expire."""
        with self.db.write() as conn:
            workers.beat(conn, name, now)

    def sign_off(self, name: str) -> None:
        """A stopping worker, its rows released: nobody need wait for its leases."""
        with self.db.write() as conn:
            workers.forget(conn, name)

    def live_workers(self, now: datetime, *, within: timedelta) -> int:
        """How many workers beat in the last ``within``: 0 means nothing delivers."""
        with self.db.read() as conn:
            return workers.alive(conn, now - within)

    def lease(
        self, delivery_id: str, *, owner: str, now: datetime, lease_until: datetime
    ) -> Lease | None:
        """Take one delivery's lease unless someone holds it (then ``None``): a resend's."""
        with self.db.write() as conn:
            row = claims.lease_one(conn, delivery_id, owner=owner, now=now, lease_until=lease_until)
        if row is None:
            return None
        return Lease(DeliveryState(row.state), row.attempts, row.next_attempt_at)

    def purge(self, now: datetime, *, retention_period: timedelta) -> int:
        """One purge batch; answers how many events went (0 when nothing is left).

        Up to ``PURGE_STEPS`` short transactions. On SQLite, where a step holds the one
        write lock, ``retention.PurgeSteps`` sizes them by how long the last one held it
        and the purge pauses after each, or it would take the lock straight back before
        any waiting writer woke. PostgreSQL locks only the purged rows, which nobody
        else touches: its steps stay ``PURGE_STEP`` events.
        """
        with self.db.write() as conn:
            retention.purge_others(conn, now)
        purged = 0
        sqlite = self.db.dialect == "sqlite"
        steps = self._purge_steps
        for _ in range(retention.PURGE_STEPS):
            asked = steps.size if sqlite else retention.PURGE_STEP
            started = time.monotonic()
            with self.db.write() as conn:
                step = retention.purge_before(conn, now - retention_period, batch=asked)
            purged += step
            if step < asked:
                break
            if sqlite:
                steps.took(time.monotonic() - started)
                time.sleep(retention.PURGE_PAUSE)
        return purged

    def requeue_failed(
        self, webhook_id: str, since: datetime, until: datetime | None, now: datetime
    ) -> int:
        """Failed deliveries created in [since, until) are due again now; workers are told."""
        with self.db.write() as conn:
            count = claims.requeue_failed(conn, webhook_id, since, until, now)
            ordering.hold_requeued(conn, webhook_id)
            # a stopped webhook sends nothing: what it got back is cancelled at once
            count -= health.cancel_for_stopped(conn, [webhook_id], now)
            if count:
                notify(conn)
        return count
