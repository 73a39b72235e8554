"""The largest one-second count of a rate-limited webhook over a burst (issue 16 §2).

``--rate-limit`` x ``--seconds`` events go at once to one webhook with
``rate_limit_per_second`` set; ``--workers`` workers in this process (each its own
claims and transactions, counted together by the store) deliver them to a loopback
receiver that notes each arrival. Printed: the largest count in any sliding one
second (any [t, t + 1 s) starting at an arrival) and in any calendar second of the
receiver's clock (both must be <= the limit), the mean rate and the time taken.
``python -m bench.ratelimit --rate-limit 100 --seconds 120 [--database-url ...]``;
without a URL, a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import tempfile
import time
from collections import Counter
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


def most_in_one_second(times: list[float]) -> tuple[int, int]:
    """(sliding, calendar): the most arrivals in any [t, t + 1 s), and in any whole second."""
    times = sorted(times)
    sliding = max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)
    calendar = max(Counter(int(t) for t in times).values(), default=0)
    return sliding, calendar


async def _serve(arrivals: list[float]) -> tuple[web.AppRunner, int]:
    async def handle(request: web.Request) -> web.Response:
        arrivals.append(time.time())  # wall clock: calendar seconds mean something
        await request.read()
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


async def _run(ctx: Context, limit: int, events: int, workers: int) -> list[float]:
    arrivals: list[float] = []
    runner, port = await _serve(arrivals)
    pid = platforms.create_platform(ctx, "Bench rate limit").platform.id
    platforms.set_zone(ctx, pid, 1, datetime.now(UTC) + timedelta(days=30))
    url = f"http://127.0.0.1:{port}/limited"
    given = {"rate_limit_per_second": limit}
    webhooks.create_webhook(ctx, pid, name="limited", url=url, topics=[TOPIC], given=given)
    data = dict(TOPICS[TOPIC].sample)
    for start in range(0, events, 500):
        batch = range(start, min(events, start + 500))
        ingest(ctx, [IncomingEvent(platform_id=pid, topic=TOPIC, data=data) for _ in batch])
    sender = Sender(allowed_networks=LOOPBACK)
    settings = WorkerSettings(concurrency=200, per_webhook_cap=200)
    pool = [
        Worker(queue=ctx.queue, sender=sender, decrypt=ctx.box.decrypt, settings=settings)
        for _ in range(workers)
    ]
    running = [asyncio.create_task(w.run()) for w in pool]
    try:
        deadline = time.monotonic() + events / limit * 2 + 60
        while len(arrivals) < events and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # a benchmark's progress poll, not a test's wait
    finally:
        for w in pool:
            w.stop()
        await asyncio.gather(*running)
        await sender.close()
        await runner.cleanup()
    return arrivals


def measure(url: str, limit: int, seconds: int, workers: int) -> None:
    db = create_database(url)
    upgrade(db)
    ctx = Context(db=db, box=SecretBox("bench-key"), allow_http=True, allowed_networks=LOOPBACK)
    events = limit * seconds
    arrivals = asyncio.run(_run(ctx, limit, events, workers))
    sliding, calendar = most_in_one_second(arrivals)
    took = max(arrivals) - min(arrivals) if arrivals else 0.0
    print(
        f"{db.dialect}: rate_limit_per_second={limit}, burst of {events} events, {workers} workers:"
        f" {len(arrivals)} arrived, {took:.1f} s from the first to the last;"
        f" largest one-second count: {sliding} (sliding), {calendar} (calendar second)"
    )
    db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rate-limit", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=120, help="burst size, in seconds' worth")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.database_url:
        measure(args.database_url, args.rate_limit, args.seconds, args.workers)
        return
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.rate_limit, args.seconds, args.workers)


if __name__ == "__main__":
    main()
