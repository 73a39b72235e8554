"""The earliest due time a worker knows of, and when it must ask the queue again.

While sends are in flight every finishing one starts a database round; reading the
queue's next due time each round would double the database work under load. So the
worker reads it when idle, and otherwise at most once per poll interval; between
reads it knows the retries it scheduled itself. Other workers' retries wait at most a
poll interval, as they always did; ingest and resends wake the worker anyway. A round
that leased nothing can read the next due time in its own transaction (``peek``): that
read stays fresh until the next claim, so the worker does not ask again before it waits.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

from hookline.domain.deliveries import Settlement


class DueTimes:
    def __init__(self, poll_interval: float) -> None:
        self.poll_interval = poll_interval
        self.hint: datetime | None = None
        self.read_at = -float("inf")  # monotonic time of the last read
        self.claimed_at: datetime | None = None  # the ``now`` of the last claim
        self.fresh = False  # read by the round after its claim: no read until the next

    def must_read(self, *, sending: bool) -> bool:
        """Whether a round should read the next due time (``peek``) if it leases nothing."""
        return not sending or time.monotonic() - self.read_at >= self.poll_interval

    def needs_read(self, *, sending: bool) -> bool:
        """Whether the worker must read the next due time itself before it waits."""
        return not self.fresh and self.must_read(sending=sending)

    def read(self, due: datetime | None, *, by_round: bool = False) -> None:
        """A read of the queue's next due time; ``by_round``: the round's own, after its
        claim and settle, so nothing the worker knows is newer until it claims again."""
        self.read_at, self.hint, self.fresh = time.monotonic(), due, by_round

    def claimed(self, now: datetime) -> None:
        self.claimed_at, self.fresh = now, False

    def scheduled(self, written: Iterable[Settlement]) -> None:
        """Retries this worker just wrote: it will claim them when they are due."""
        for s in written:
            due = s.next_attempt_at
            if due is not None and (self.hint is None or due < self.hint):
                self.hint = due

    def known(self) -> datetime | None:
        """The hint, unless the last claim already looked past it."""
        if self.hint is not None and self.claimed_at is not None and self.hint <= self.claimed_at:
            self.hint = None  # the last claim saw it: taken, or held back by a cap
        return self.hint
