"""A rate limit through real processes: one ``serve --no-worker`` and two ``hookline
worker`` on one database, SQLite and PostgreSQL, a loopback receiver (issue 16 §2).

The receiver notes when each request arrives, by its own monotonic clock; in no
sliding one-second window (any [t, t + 1 s), t an arrival) does the limited webhook
get more than its limit, though both workers claim its deliveries; every event
arrives; a webhook without a limit on the same events gets them all too. Every wait
has a deadline.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from hookline.catalog import TOPICS
from tests.support.counting_receiver import listen_on_loopback
from tests.support.process import free_port, wait_until
from tests.support.shared_db import PRODUCER, TOPIC, Processes, backend_env, make_platform, ok

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
EVENTS = 40
LIMIT = 5


@dataclass
class ClockedReceiver:
    """Records (path, event number, arrival on the monotonic clock) per request."""

    hits: list[tuple[str, int, float]] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        n = int(json.loads(await request.read())["data"]["number"][2:])
        with self._lock:
            self.hits.append((request.path, n, arrived))
        return web.Response(text="OK")

    def on(self, path: str) -> list[tuple[int, float]]:
        with self._lock:
            return [(n, at) for p, n, at in self.hits if p == path]


def most_in_one_second(arrivals: list[float]) -> int:
    """The most arrivals in any window [t, t + 1 s) that starts at an arrival."""
    times = sorted(arrivals)
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


@pytest.fixture
def clocked_receiver() -> Iterator[ClockedReceiver]:
    receiver = ClockedReceiver()
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    loop: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", receiver.handle)
        runner, receiver.port = await listen_on_loopback(app)
        stop.append(asyncio.Event())
        loop.append(asyncio.get_running_loop())
        ready.set()
        await stop[0].wait()
        await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(60)
    try:
        yield receiver
    finally:
        loop[0].call_soon_threadsafe(stop[0].set)
        thread.join(10)


def events(platform_id: str, numbers: range) -> list[dict[str, Any]]:
    sample = dict(TOPICS[TOPIC].sample)
    return [
        {"platform_id": platform_id, "topic": TOPIC, "data": {**sample, "number": f"AB{n:08d}"}}
        for n in numbers
    ]


def test_the_receivers_count_is_of_a_sliding_window() -> None:
    assert most_in_one_second([0.0, 0.5, 0.99, 1.0, 1.2]) == 4  # [0.5, 1.5)
    assert most_in_one_second([0.0, 1.0, 2.0]) == 1
    assert most_in_one_second([]) == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_rate_limit_holds_across_two_worker_processes(
    backend: str, tmp_path: Path, clocked_receiver: ClockedReceiver
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with backend_env(backend, tmp_path, concurrency=20, lease_seconds=10, send_timeout=5) as env:
        procs = Processes(env)
        try:
            procs.serve("api", port)
            procs.worker("worker-1")
            procs.worker("worker-2")
            with httpx.Client(timeout=30) as api:
                platform = make_platform(base, api)
                url = f"http://127.0.0.1:{clocked_receiver.port}"
                limited: dict[str, Any] = {"name": "limited", "url": f"{url}/limited"}
                limited |= {"topics": [TOPIC], "rate_limit_per_second": LIMIT}
                hook = ok(api.post("/v1/webhooks", json=limited), 201)
                assert hook["rate_limit_per_second"] == LIMIT
                plain = {"name": "plain", "url": f"{url}/plain", "topics": [TOPIC]}
                ok(api.post("/v1/webhooks", json=plain), 201)
                for start in range(0, EVENTS, 20):
                    batch = {"events": events(platform.id, range(start, start + 20))}
                    r = api.post(f"{base}/internal/v1/events/batch", json=batch, headers=PRODUCER)
                    assert ok(r, 202)["rejected"] == 0
                wait_until(
                    "every event at both webhooks",
                    lambda: (
                        {n for n, _ in clocked_receiver.on("/limited")} == set(range(EVENTS))
                        and {n for n, _ in clocked_receiver.on("/plain")} == set(range(EVENTS))
                    ),
                    120,
                )
        except BaseException:
            print(procs.report())
            raise
        finally:
            procs.stop_all()
    arrivals = [at for _, at in clocked_receiver.on("/limited")]
    assert most_in_one_second(arrivals) <= LIMIT
    # it was held, not merely slow: 40 at 5 a second cannot arrive within 7 seconds
    assert max(arrivals) - min(arrivals) >= (EVENTS / LIMIT - 1) * 1.0
