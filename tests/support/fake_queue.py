"""In-memory stand-ins for the worker's queue and sender: its loop runs without I/O.

``FakeQueue`` follows ``store.queue.DeliveryQueue``'s contract (leases per owner, a
result from a lost lease changes no row, release gives rows back untouched) closely
enough for the loop's tests; the real SQL is tested against both databases in
``tests/integration``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hookline.domain.deliveries import (
    AttemptResult,
    DeliveryState,
    DueDelivery,
    InFlight,
    Outgoing,
    Round,
    Settlement,
)
from hookline.domain.retry import RetryPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
OK = AttemptResult(200, 1.0, "", None, None, None)


@dataclass
class Row:
    id: str
    webhook_id: str
    due_at: datetime | None
    state: DeliveryState = DeliveryState.PENDING
    owner: str | None = None
    attempts: int = 0


@dataclass
class FakeQueue:
    rows: dict[str, Row] = field(default_factory=dict)
    settled: list[Settlement] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    claims: int = 0
    heartbeats: dict[str, datetime] = field(default_factory=dict)
    signed_off: list[str] = field(default_factory=list)
    in_flight_told: list[InFlight | None] = field(default_factory=list)
    """What each round was told of the worker's own in-flight deliveries."""

    dialect = "fake"
    url = "fake://"

    def add(self, delivery_id: str, webhook_id: str = "wh_1", due_at: datetime = T0) -> None:
        self.rows[delivery_id] = Row(delivery_id, webhook_id, due_at)

    def state_of(self, delivery_id: str) -> DeliveryState:
        return self.rows[delivery_id].state

    def checkpoint(self) -> None:
        return None

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
        self.settled.extend(settlements)
        for s in settlements:
            row = self.rows[s.delivery_id]
            if row.owner == owner and row.state is DeliveryState.IN_FLIGHT:
                row.state, row.owner = s.state, None
                row.attempts, row.due_at = s.attempt.number, s.next_attempt_at
        if limit <= 0:
            return []
        self.claims += 1
        due = sorted(
            (r for r in self.rows.values() if self._is_due(r, now)),
            key=lambda r: (r.due_at or now, r.id),
        )
        chosen = due[:limit]
        for row in chosen:
            row.state, row.owner = DeliveryState.IN_FLIGHT, owner
        return [self._due(row) for row in chosen]

    def round(
        self,
        settlements: Sequence[Settlement],
        *,
        peek: bool,
        in_flight: InFlight | None = None,
        **claim: Any,
    ) -> Round:
        """``settle_and_claim``, then with ``peek`` and nothing leased, ``next_due_at``."""
        self.in_flight_told.append(in_flight)
        leased = self.settle_and_claim(settlements, **claim)
        if peek and not leased:
            return Round([], peeked=True, next_due_at=self.next_due_at())
        return Round(leased)

    @staticmethod
    def _is_due(row: Row, now: datetime) -> bool:
        pending = row.state is DeliveryState.PENDING
        return pending and row.due_at is not None and row.due_at <= now

    @staticmethod
    def _due(row: Row) -> DueDelivery:
        return DueDelivery(
            id=row.id,
            webhook_id=row.webhook_id,
            url=f"https://receiver.example/{row.webhook_id}",
            body=b'{"id": "%s"}' % row.id.encode(),
            idempotency_key=f"key-{row.id}",
            attempts=row.attempts,
            retry_policy=RetryPolicy.MAAC,
            secret_ciphertexts=("sealed:whsec_dGVzdA==",),
        )

    def next_due_at(self) -> datetime | None:
        pending = [r.due_at for r in self.rows.values() if r.state is DeliveryState.PENDING]
        return min((d for d in pending if d is not None), default=None)

    def reclaim_expired(
        self, now: datetime, *, dead_after: timedelta | None = None, alive: str | None = None
    ) -> int:
        return 0

    def heartbeat(self, name: str, now: datetime) -> None:
        self.heartbeats[name] = now

    def sign_off(self, name: str) -> None:
        self.heartbeats.pop(name, None)
        self.signed_off.append(name)

    def release(self, ids: Sequence[str], *, owner: str, now: datetime) -> int:
        count = 0
        for delivery_id in ids:
            row = self.rows[delivery_id]
            if row.owner == owner and row.state is DeliveryState.IN_FLIGHT:
                row.state, row.owner = DeliveryState.PENDING, None
                self.released.append(delivery_id)
                count += 1
        return count

    def purge(self, now: datetime, *, retention_period: timedelta) -> int:
        return 0


@dataclass
class FakeSender:
    """Answers each request with ``answer(request)``; requests to ``held`` URLs never end."""

    answer: Callable[[Outgoing], AttemptResult] = lambda _request: OK
    held: frozenset[str] = frozenset()
    sent: list[Outgoing] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    async def send(self, request: Outgoing) -> AttemptResult:
        self.sent.append(request)
        self.started.set()
        if request.url in self.held:
            await asyncio.Event().wait()  # until the worker cancels it
        return self.answer(request)

    async def until_sent(self, count: int) -> None:
        """Wait (without a timer) until ``count`` requests have started."""
        while len(self.sent) < count:
            self.started.clear()
            await self.started.wait()

    async def close(self) -> None:
        self.closed = True


def open_secret(ciphertext: str) -> str:
    """The fakes' secret box: ``sealed:<secret>`` opens to ``<secret>``."""
    return ciphertext.removeprefix("sealed:")
