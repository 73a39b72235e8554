"""Delivery controls through real processes: one ``serve --no-worker`` and two
``hookline worker`` on one database, SQLite and PostgreSQL, a loopback receiver.

A FIFO webhook with an extra header gets its events one at a time in ingest order
across both workers, a retry of one holding the rest; a filtered webhook gets only
the events its filter lets through, and counts the others. Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import json
import threading
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
from tests.support.shared_db import (
    PRODUCER,
    TOPIC,
    Processes,
    backend_env,
    make_platform,
    ok,
)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
EVENTS = 60
RETRIED = 5  # the event whose first attempt answers 503


@dataclass
class OrderReceiver:
    """Records (path, event number, X-Api-Key) per request and the most requests to one
    path open at once; answers after 5 ms, so overlapping sends would overlap here."""

    hits: list[tuple[str, int, str]] = field(default_factory=list)
    open_now: dict[str, int] = field(default_factory=dict)
    most_open: dict[str, int] = field(default_factory=dict)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        n = int(body["data"]["number"][2:])
        path = request.path
        with self._lock:
            first = (path, n) not in {(p, m) for p, m, _ in self.hits}
            self.hits.append((path, n, request.headers.get("X-Api-Key", "")))
            self.open_now[path] = self.open_now.get(path, 0) + 1
            self.most_open[path] = max(self.most_open.get(path, 0), self.open_now[path])
        await asyncio.sleep(0.005)  # the receiver's own latency
        with self._lock:
            self.open_now[path] -= 1
        status = 503 if path == "/fifo" and n == RETRIED and first else 200
        return web.Response(status=status, text="OK")

    def on(self, path: str) -> list[tuple[int, str]]:
        with self._lock:
            return [(n, key) for p, n, key in self.hits if p == path]


@pytest.fixture
def order_receiver() -> Iterator[OrderReceiver]:
    receiver = OrderReceiver()
    ready = threading.Event()
    stop: list[asyncio.Event] = []

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", receiver.handle)
        runner, receiver.port = await listen_on_loopback(app)
        stop.append(asyncio.Event())
        loop.append(asyncio.get_running_loop())
        ready.set()
        await stop[0].wait()
        await runner.cleanup()

    loop: list[asyncio.AbstractEventLoop] = []
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
        {
            "platform_id": platform_id,
            "topic": TOPIC,
            "data": {**sample, "number": f"AB{n:08d}", "channel": "web" if n % 2 else "shop"},
        }
        for n in numbers
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_fifo_headers_and_filters_across_two_worker_processes(
    backend: str, tmp_path: Path, order_receiver: OrderReceiver
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
                url = f"http://127.0.0.1:{order_receiver.port}"
                fifo: dict[str, Any] = {"name": "ordered", "url": f"{url}/fifo", "topics": [TOPIC]}
                fifo |= {"ordering": "fifo", "headers": {"X-Api-Key": "k_fifo"}}
                fifo_id = ok(api.post("/v1/webhooks", json=fifo), 201)["id"]
                kept: dict[str, Any] = {"name": "web only", "url": f"{url}/web", "topics": [TOPIC]}
                kept["filter"] = {"data.channel": "web"}
                kept_id = ok(api.post("/v1/webhooks", json=kept), 201)["id"]
                for start in range(0, EVENTS, 20):
                    batch = {"events": events(platform.id, range(start, start + 20))}
                    r = api.post(f"{base}/internal/v1/events/batch", json=batch, headers=PRODUCER)
                    assert ok(r, 202)["rejected"] == 0
                wait_until(
                    "every event at both webhooks",
                    lambda: (
                        len(order_receiver.on("/fifo")) >= EVENTS + 1
                        and len(order_receiver.on("/web")) >= EVENTS // 2
                    ),
                    90,
                )
                filtered = ok(api.get(f"/v1/webhooks/{kept_id}"))["filtered_events"]
                fifo_hook = ok(api.get(f"/v1/webhooks/{fifo_id}"))
        except BaseException:
            print(procs.report())
            raise
        finally:
            procs.stop_all()
    got = order_receiver.on("/fifo")
    expected = [*range(RETRIED + 1), *range(RETRIED, EVENTS)]
    assert [n for n, _ in got] == expected  # in order; the retried one held the rest
    assert {key for _, key in got} == {"k_fifo"}
    assert order_receiver.most_open["/fifo"] == 1  # one at a time, across both workers
    assert fifo_hook["headers"] == {"X-Api-Key": "********"}
    assert sorted(n for n, _ in order_receiver.on("/web")) == list(range(1, EVENTS, 2))
    assert filtered == EVENTS // 2
