"""A producer that keeps publishing through faults: what was not accepted, it sends again.

Events carry the producer's own ``id``, so sending one again after an answer that was
lost (the API killed after its commit) creates nothing new: hookline answers the first
result. Every answer is counted by status, so a test can say which statuses ingest gave
while the fault lasted.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from hookline.devtools.fake import fake_data
from tests.support.shared_db import PRODUCER, TOPIC

RETRY_PAUSE = 0.1  # seconds between two tries of a refused batch


@dataclass(frozen=True)
class Refusal:
    """An answer other than 202 (or no answer at all: ``status`` names the exception)."""

    status: str
    content_type: str = ""
    retry_after: str | None = None
    body: str = ""


@dataclass
class Producer:
    base: str
    platform_id: str
    events: int
    batch: int = 200
    rate: float | None = None  # events per second; None: as fast as ingest answers
    prefix: str = "ev"
    patience: float = 120.0  # seconds one batch may stay refused before the test fails
    accepted: dict[str, str] = field(default_factory=dict)  # producer id -> event id
    statuses: Counter[str] = field(default_factory=Counter)
    refusals: list[Refusal] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def event(self, i: int) -> dict[str, Any]:
        data = fake_data(TOPIC, random.Random(i))
        return {"platform_id": self.platform_id, "topic": TOPIC, "data": data, "id": self.id(i)}

    def id(self, i: int) -> str:
        return f"{self.prefix}-{i}"

    def accepted_count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def event_ids(self) -> set[str]:
        with self._lock:
            return set(self.accepted.values())

    def run(self, start: int = 0, stop: int | None = None) -> None:
        """Publish events ``start``..``stop`` (default: all), each batch until accepted."""
        stop = self.events if stop is None else stop
        began = time.monotonic()
        with self.client() as client:
            for first in range(start, stop, self.batch):
                if self.rate is not None:  # an open-loop pace, not a wait for anything
                    time.sleep(max(0.0, began + (first - start) / self.rate - time.monotonic()))
                self.send(client, list(range(first, min(first + self.batch, stop))))

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=PRODUCER, timeout=30)

    def send(self, client: httpx.Client, indexes: list[int]) -> None:
        """Send these events until every one is accepted (or the patience runs out)."""
        deadline = time.monotonic() + self.patience
        while indexes := self.send_once(client, indexes):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(indexes)} events still refused after {self.patience} s;"
                    f" answers {dict(self.statuses)}, last {self.refusals[-3:]}"
                )
            time.sleep(RETRY_PAUSE)

    def send_once(self, client: httpx.Client, indexes: list[int]) -> list[int]:
        """One try; answers the indexes still to send (all of them after a refusal)."""
        body = {"events": [self.event(i) for i in indexes]}
        try:
            response = client.post("/internal/v1/events/batch", json=body)
        except httpx.TransportError as exc:
            self._refused(Refusal(type(exc).__name__))
            return indexes
        if response.status_code != 202:
            self._refused(
                Refusal(
                    str(response.status_code),
                    response.headers.get("content-type", ""),
                    response.headers.get("retry-after"),
                    response.text[:300],
                )
            )
            return indexes
        retry = []
        with self._lock:
            self.statuses["202"] += 1
            for i, result in zip(indexes, response.json()["results"], strict=True):
                if "error" in result:
                    self.statuses[f"item {result['error'].get('code')}"] += 1
                    retry.append(i)
                else:
                    self.accepted[self.id(i)] = result["event_id"]
        return retry

    def _refused(self, refusal: Refusal) -> None:
        with self._lock:
            self.statuses[refusal.status] += 1
            self.refusals.append(refusal)
