"""A hanging receiver next to a healthy one: the healthy one is not slowed down.

``hookline serve --no-worker`` and one worker, one platform, the same open-loop load twice:
first with only the healthy webhook, then with a second webhook on the same events
whose receiver never answers (every request held until the attempt times out, then
retried). The healthy webhook's p99 from ingest (the body's ``timestamp``, taken by
the server when it accepted the event) to receipt must stay within twice what it was
without the hanging one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.faults.producer import Producer
from tests.support.counting_receiver import CountingReceiver, Hit
from tests.support.process import free_port
from tests.support.shared_db import Processes, backend_env, make_platform

EVENTS = 300  # per phase
RATE = 50.0  # events per second, one per request
FLOOR = 0.1  # seconds: below this, a p99 on a shared 2-core machine is scheduling noise


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with backend_env(
        "sqlite",
        tmp_path / "var",
        concurrency=100,
        lease_seconds=6.0,
        send_timeout=3.0,
        HOOKLINE_WEBHOOK_CONCURRENCY="50",  # the hanging webhook may hold half the slots
    ) as env:
        yield env


def p99(hits: list[Hit]) -> float:
    """The 99th percentile (nearest rank) of ingest-to-receipt, in seconds."""
    latencies = sorted(
        hit.at - datetime.fromisoformat(json.loads(hit.body)["timestamp"]).timestamp()
        for hit in hits
    )
    return latencies[math.ceil(0.99 * len(latencies)) - 1]


def phase(
    base: str, platform_id: str, receiver: CountingReceiver, prefix: str, events: int = EVENTS
) -> list[Hit]:
    """Publish one phase's load; answers the healthy webhook's first receipts of it."""
    before = receiver.seen()
    Producer(base, platform_id, events, batch=1, rate=RATE, prefix=prefix).run()
    arrived = receiver.wait_for(lambda r: len(r.counts) >= before + events, timeout=60)
    assert arrived, f"{receiver.seen() - before} of {events} arrived within 60 s"
    first: dict[str, Hit] = {}
    for hit in receiver.snapshot()[0]:
        if hit.path == "/hook":
            first.setdefault(hit.key, hit)
    return list(first.values())[before:]


def test_a_hanging_receiver_does_not_slow_a_healthy_one(
    env: dict[str, str], processes: Processes, receiver: CountingReceiver
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes.serve("serve", port)
    processes.worker("worker")  # started and waited for: no phase measures a start-up
    with httpx.Client(timeout=30) as api:
        platform = make_platform(base, api, "Hang test")
        platform.add_webhook("healthy", receiver.url("/hook"))
        phase(base, platform.id, receiver, "warm-up", 50)  # first connections, caches
        alone = p99(phase(base, platform.id, receiver, "alone"))
        platform.add_webhook("hanging", receiver.url("/hang"))
        beside = p99(phase(base, platform.id, receiver, "beside"))
    hung = sum(1 for hit in receiver.snapshot()[0] if hit.path == "/hang")
    print(f"\nhealthy webhook's p99: {alone * 1000:.0f} ms alone, {beside * 1000:.0f} ms beside")
    print(f"a hanging one ({hung} requests held)")
    assert hung >= 50, "the hanging receiver was not kept busy"
    assert beside <= 2 * max(alone, FLOOR), (alone, beside)
