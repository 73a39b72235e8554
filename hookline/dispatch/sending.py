"""The deliveries a worker is sending, by id, and what its claims tell of them."""

from __future__ import annotations

import asyncio
from collections import Counter

from hookline.domain.deliveries import DueDelivery


class Sending(dict[str, "asyncio.Task[None]"]):
    """Each delivery's send task, by delivery id; and each one's webhook, so a claim can
    say how many of each webhook's deliveries this worker has in flight
    (``domain.deliveries.InFlight``) without the database counting them."""

    def __init__(self) -> None:
        super().__init__()
        self._webhook_of: dict[str, str] = {}

    def start(self, due: DueDelivery, task: asyncio.Task[None]) -> None:
        self[due.id] = task
        self._webhook_of[due.id] = due.webhook_id

    def per_webhook(self) -> Counter[str]:
        """How many are in flight per webhook; forgets the webhooks of finished sends.
        Only the event loop, which alone changes this dict, may call it."""
        webhook_of = self._webhook_of
        for gone in [i for i in webhook_of if i not in self]:
            del webhook_of[gone]
        return Counter(webhook_of[i] for i in self if i in webhook_of)
