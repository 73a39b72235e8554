"""The largest one-second count of a rate-limited webhook over a burst (issue 16 §2).

``--rate-limit`` x ``--seconds`` events go at once to one webhook with
``rate_limit_per_second`` set; ``--workers`` workers in this process (each its own
claims and transactions, counted together by the store) deliver them to a loopback
receiver in a process of its own that notes each arrival. Printed: the largest
count in any sliding one second (any [t, t + 1 s) starting at an arrival) and in any
calendar second of the receiver's clock (both must be <= the limit), and the time
from the first arrival to the last.
``python -m bench.ratelimit --rate-limit 100 --seconds 120 [--database-url ...]``;
without a URL, a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
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


async def _receive(port: int) -> None:
    """The receiver, in a process of its own so the workers' load does not skew its
    clock: notes each arrival (wall clock), ``GET /__times`` answers them as JSON."""
    arrivals: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        arrivals.append(time.time())
        await request.read()
        return web.Response(text="OK")

    async def times(_request: web.Request) -> web.Response:
        return web.json_response(arrivals)

    app = web.Application()
    app.router.add_get("/__times", times)
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def _arrivals(port: int) -> list[float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__times", timeout=30) as r:
        got: list[float] = json.loads(r.read())
    return got


async def _run(ctx: Context, limit: int, events: int, workers: int, port: int) -> list[float]:
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
    arrivals: list[float] = []
    try:
        deadline = time.monotonic() + events / limit * 2 + 60
        while len(arrivals) < events and time.monotonic() < deadline:
            await asyncio.sleep(1.0)  # a benchmark's progress poll, not a test's wait
            arrivals = await asyncio.to_thread(_arrivals, port)
    finally:
        for w in pool:
            w.stop()
        await asyncio.gather(*running)
        await sender.close()
    return arrivals


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _arrivals(port)
            return
        time.sleep(0.1)  # a benchmark's start-up poll
    raise RuntimeError("the receiver did not start")


def measure(url: str, limit: int, seconds: int, workers: int) -> None:
    db = create_database(url)
    upgrade(db)
    ctx = Context(db=db, box=SecretBox("bench-key"), allow_http=True, allowed_networks=LOOPBACK)
    events = limit * seconds
    port = _free_port()
    command = [sys.executable, "-m", "bench.ratelimit", "--receive", str(port)]
    receiver = subprocess.Popen(command)  # noqa: S603 (this very module, a fixed command)
    try:
        _wait_listening(port)
        arrivals = asyncio.run(_run(ctx, limit, events, workers, port))
    finally:
        receiver.terminate()
        receiver.wait(10)
    sliding, calendar = most_in_one_second(arrivals)
    per_second = Counter(int(t) for t in arrivals)
    over = sum(1 for n in per_second.values() if n > limit)
    took = max(arrivals) - min(arrivals) if arrivals else 0.0
    print(
        f"{db.dialect}: rate_limit_per_second={limit}, burst of {events} events, {workers} workers:"
        f" {len(arrivals)} arrived, {took:.1f} s from the first to the last;"
        f" largest one-second count: {sliding} (sliding), {calendar} (calendar second);"
        f" calendar seconds over the limit: {over} of {len(per_second)}"
    )
    db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rate-limit", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=120, help="burst size, in seconds' worth")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--receive", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:
        asyncio.run(_receive(args.receive))
        return
    if args.database_url:
        measure(args.database_url, args.rate_limit, args.seconds, args.workers)
        return
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.rate_limit, args.seconds, args.workers)


if __name__ == "__main__":
    main()
