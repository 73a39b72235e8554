"""What every use case needs: the database, the secret box, the clock, the URL policy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hookline.domain.networks import IPNetwork
from hookline.domain.secrets import SecretBox
from hookline.store import Database
from hookline.store.queue import DeliveryQueue


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    db: Database
    box: SecretBox
    allow_http: bool = False
    allowed_networks: Sequence[IPNetwork] = ()
    clock: Callable[[], datetime] = utcnow
    failing_period: timedelta = timedelta(days=5)
    """A webhook whose every attempt failed this long is stopped as ``failing``."""
    wake_workers: Callable[[], None] = lambda: None
    """Called after a commit that made deliveries due (the in-process wake-up)."""
    resend_lease: timedelta = timedelta(seconds=20)
    """How long a resend holds its delivery: the send timeout and a margin. A resend has
    no heartbeat, so if its process dies the delivery waits this long to be reclaimed."""
    worker_dead_after: timedelta = timedelta(seconds=3)
    """A worker whose last heartbeat is older is dead (``/readyz`` counts the others)."""

    @property
    def queue(self) -> DeliveryQueue:
        """The delivery queue on this context's database (cheap: it holds no connection)."""
        return DeliveryQueue(self.db, failing_period=self.failing_period, clock=self.clock)
