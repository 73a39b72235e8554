"""Throughput of one FIFO webhook against a receiver answering in 10 ms (issue 16).

One worker in this process (real sender, real database, a loopback aiohttp receiver
that waits ``--latency`` ms before answering 200). ``--events`` events go to one
webhook with ``ordering: fifo``, then as many to one with the default ordering, for
scale; each figure is deliveries a second from the first request to the last.
A FIFO webhook sends one request at a time, so its ceiling is about one per
(receiver latency + one settle-and-claim round). ``python -m bench.fifo
[--database-url postgresql+psycopg://...]``; without one, a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from hookline.catalog import TOPICS
from hookline.dispatch.sender import Sender
from hookline.dispatch.settings import WorkerSettings
from hookline.dispatch.worker import Worker
from hookline.domain.networks import parse_networks
from hookline.domain.secrets import SecretBox
from hookline.services import platforms, webhooks
from hookline.services.context import Context
from hookline.services.ingest import IncomingEvent, ingest
from hookline.store.db import create_database
from hookline.store.migrate import upgrade

TOPIC = "receipt.receipt_validated"
LOOPBACK = parse_networks("127.0.0.0/8")


async def _serve(latency: float, arrivals: list[float]) -> tuple[web.AppRunner, int]:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(latency)
        arrivals.append(time.perf_counter())
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


async def _run(ctx: Context, ordering: str, events: int, latency: float) -> float:
    arrivals: list[float] = []
    runner, port = await _serve(latency, arrivals)
    pid = platforms.create_platform(ctx, f"Bench {ordering}").platform.id
    platforms.set_zone(ctx, pid, 1, datetime.now(UTC) + timedelta(days=30))
    url = f"http://127.0.0.1:{port}/{ordering}"
    webhooks.create_webhook(
        ctx, pid, name=ordering, url=url, topics=[TOPIC], given={"ordering": ordering}
    )
    data = dict(TOPICS[TOPIC].sample)
    for start in range(0, events, 500):
        batch = range(start, min(events, start + 500))
        ingest(ctx, [IncomingEvent(platform_id=pid, topic=TOPIC, data=data) for _ in batch])
    sender = Sender(allowed_networks=LOOPBACK)
    worker = Worker(
        queue=ctx.queue,
        sender=sender,
        decrypt=ctx.box.decrypt,
        settings=WorkerSettings(concurrency=50, per_webhook_cap=50),
    )
    running = asyncio.create_task(worker.run())  # the production loop: settle and claim at once
    try:
        deadline = time.monotonic() + 600
        while len(arrivals) < events and time.monotonic() < deadline and not running.done():
            await asyncio.sleep(0.05)  # a benchmark's progress poll, not a test's wait
    finally:
        worker.stop()
        await running
        await sender.close()
        await runner.cleanup()
    assert len(arrivals) == events, (len(arrivals), events)
    return (events - 1) / (arrivals[-1] - arrivals[0])


def measure(url: str, events: int, latency_ms: float) -> None:
    db = create_database(url)
    upgrade(db)
    ctx = Context(db=db, box=SecretBox("bench-key"), allow_http=True, allowed_networks=LOOPBACK)
    for ordering in ("fifo", "none"):
        rate = asyncio.run(_run(ctx, ordering, events, latency_ms / 1000))
        print(
            f"{db.dialect} ordering={ordering}: {events} deliveries, receiver {latency_ms:g} ms:"
            f" {rate:,.1f} deliveries/s"
        )
    db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--latency", type=float, default=10.0, help="receiver ms")
    args = parser.parse_args()
    if args.database_url:
        measure(args.database_url, args.events, args.latency)
        return
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.events, args.latency)


if __name__ == "__main__":
    main()
