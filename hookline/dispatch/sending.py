"""The deliveries a worker is sending, by id, and what its claims tell of them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

from hookline.domain.deliveries import DueDelivery


class Sending:
    """Each delivery's send task, by delivery id, and how many each webhook has in
    flight, kept as sends start and finish: a claim tells the queue these counts
    (``domain.deliveries.InFlight``) so the database need not count the deliveries.
    Only the event loop changes or reads it."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._webhook_of: dict[str, str] = {}
        self._per_webhook: Counter[str] = Counter()

    def start(self, due: DueDelivery, task: asyncio.Task[None]) -> None:
        self._tasks[due.id] = task
        self._webhook_of[due.id] = due.webhook_id
        self._per_webhook[due.webhook_id] += 1

    def finish(self, delivery_id: str) -> None:
        """Its send is over (or will never be made); a second call changes nothing."""
        if self._tasks.pop(delivery_id, None) is None:
            return
        webhook_id = self._webhook_of.pop(delivery_id)
        self._per_webhook[webhook_id] -= 1
        if not self._per_webhook[webhook_id]:
            del self._per_webhook[webhook_id]

    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tasks.values())

    def per_webhook(self) -> dict[str, int]:
        """A copy: the claim reads it on the database thread while sends go on."""
        return dict(self._per_webhook)

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[str]:
        return iter(self._tasks)
