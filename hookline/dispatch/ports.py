"""What the worker needs from the world: a queue to work from and a way to send.

``store.queue.DeliveryQueue`` and ``dispatch.sender.Sender`` are the real ones;
tests hand the worker in-memory fakes, so its loop runs without a database or sockets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from hookline.domain.deliveries import (
    AttemptResult,
    DueDelivery,
    InFlight,
    Outgoing,
    Round,
    Settlement,
)


class WorkQueue(Protocol):
    """The delivery queue as the worker uses it; each call is its own transaction."""

    @property
    def dialect(self) -> str: ...

    @property
    def url(self) -> str: ...

    def checkpoint(self) -> None: ...

    def settle_and_claim(
        self,
        settlements: Sequence[Settlement],
        *,
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        per_webhook_cap: int,
    ) -> list[DueDelivery]: ...

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
    ) -> Round: ...

    def next_due_at(self) -> datetime | None: ...

    def reclaim_expired(
        self, now: datetime, *, dead_after: timedelta | None = None, alive: str | None = None
    ) -> int: ...

    def heartbeat(self, name: str, now: datetime) -> None: ...

    def sign_off(self, name: str) -> None: ...

    def release(self, ids: Sequence[str], *, owner: str, now: datetime) -> int: ...

    def purge(self, now: datetime, *, retention_period: timedelta) -> int: ...


class Transport(Protocol):
    """Sends one signed request and reports what happened; never raises for the receiver."""

    async def send(self, request: Outgoing) -> AttemptResult: ...

    async def close(self) -> None: ...
