"""Ingest alone: what the API accepts when no worker shares the machine with it.

``make bench`` measures ingest while serve's workers deliver beside it, which is what
users see; this measures the API's own ceiling, so a change to the ingest path can be
judged apart from the delivery side. Per backend, on a fresh database:

1. ``service``: ``services.ingest.ingest`` called in this process on batches parsed
   as the route parses them (no HTTP, no server);
2. ``http``: ``hookline serve --no-worker`` (no worker at all: deliveries wait) and
   ``--lanes`` batch requests in flight, as ``make bench``'s burst sends them.

Printed: events/s, and for ``http`` each request's time (p50, p99) and serve's CPU.

    python -m bench.ingest [--events 20000] [--batch 1000] [--lanes 2]
                           [--backends sqlite,postgresql] [--mode service,http]

Only 127.0.0.1 is contacted; the webhooks point at a closed port nobody sends to.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

if __package__ in (None, ""):  # run as a script: python bench/ingest.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, load
from bench.scenarios.stage import INGEST_TOKEN, OPERATOR_TOKEN, SECRET_KEY
from hookline.api.schemas.ingest import BatchIn
from hookline.domain.networks import parse_networks
from hookline.domain.secrets import SecretBox
from hookline.services import ingest, platforms, webhooks
from hookline.services.context import Context
from hookline.store.db import create_database
from hookline.store.migrate import upgrade

NOWHERE = "http://127.0.0.1:9"  # discard's port: never sent to, no worker runs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--batch", type=int, default=1000, help="Events per request.")
    p.add_argument("--lanes", type=int, default=2, help="Requests in flight (http).")
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--mode", default="service,http", help="service, http or both.")
    p.add_argument("--seed", type=int, default=20260101)
    return p.parse_args(argv)


@contextmanager
def fresh_backend(name: str, workdir: Path) -> Iterator[harness.Backend]:
    backend = harness.Backend(name, workdir)
    try:
        yield backend
    finally:
        backend.cleanup()


def measure_service(backend: harness.Backend, args: argparse.Namespace) -> float:
    """Events/s through ``services.ingest`` in this process, batches parsed first."""
    env = backend.prepare("service")
    url = env.get("HOOKLINE_DATABASE_URL") or f"sqlite:///{backend.db_name}"
    db = create_database(url)
    upgrade(db)
    ctx = Context(
        db=db,
        box=SecretBox(SECRET_KEY),
        allow_http=True,
        allowed_networks=parse_networks("127.0.0.0/8"),
        clock=lambda: datetime.now(UTC),
    )
    pid = platforms.create_platform(ctx, "bench").platform.id
    platforms.set_zone(ctx, pid, 1, datetime.now(UTC) + timedelta(days=365))
    for n in range(3):
        webhooks.create_webhook(ctx, pid, name=f"b{n}", url=f"{NOWHERE}/{n}", topics=[load.TOPIC])
    data = load.make_data(args.events, args.seed)
    batches = [
        [e.incoming() for e in BatchIn.model_validate_json(body).events]
        for body, _ in load.encode_batches(data, pid, "svc", args.batch)
    ]
    start = time.perf_counter()
    for items in batches:
        ingest.ingest(ctx, items)
    seconds = time.perf_counter() - start
    db.dispose()
    return args.events / seconds


async def measure_http(
    backend: harness.Backend, args: argparse.Namespace, workdir: Path
) -> dict[str, float]:
    """Events/s through ``serve --no-worker``; request times and serve's CPU."""
    env = backend.prepare("http")
    env.update(
        HOOKLINE_OPERATOR_TOKEN=OPERATOR_TOKEN,
        HOOKLINE_INGEST_TOKEN=INGEST_TOKEN,
        HOOKLINE_SECRET_KEY=SECRET_KEY,
        HOOKLINE_ALLOW_HTTP="true",
        HOOKLINE_ALLOW_PRIVATE_NETWORKS="127.0.0.0/8",
    )
    logdir = workdir / f"logs-{backend.name}"
    logdir.mkdir(exist_ok=True)
    hookline = harness.Hookline(harness.hookline_env(env), logdir, topology="split", workers=0)
    hookline.start()
    try:
        async with aiohttp.ClientSession() as session:
            tenant = await load.provision(session, hookline.base_url, OPERATOR_TOKEN, NOWHERE)
            data = load.make_data(args.events, args.seed)
            batches = load.encode_batches(data, tenant.platform_id, "http", args.batch)
            serve_pid = hookline.serve.pid if hookline.serve else 0
            cpu_before = harness.cpu_seconds(serve_pid) or 0.0
            result = await load.burst(
                session, hookline.base_url, INGEST_TOKEN, batches, concurrency=args.lanes
            )
            cpu = (harness.cpu_seconds(serve_pid) or 0.0) - cpu_before
    finally:
        hookline.stop()
    times = sorted(result.request_ms)
    return {
        "rate": result.rate,
        "p50": statistics.median(times),
        "p99": times[min(len(times) - 1, int(len(times) * 0.99))],
        "cpu_per_1000": cpu / result.accepted * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modes = set(args.mode.split(","))
    with tempfile.TemporaryDirectory(prefix="hookline-ingest-") as tmp:
        workdir = Path(tmp)
        for name in args.backends.split(","):
            if name == "postgresql" and (why := harness.postgres_reachable()):
                print(f"{name}: skipped ({why})")
                continue
            if "service" in modes:
                with fresh_backend(name, workdir) as backend:
                    rate = measure_service(backend, args)
                print(f"{name:10} service  {rate:8,.0f} events/s")
            if "http" in modes:
                with fresh_backend(name, workdir) as backend:
                    got = asyncio.run(measure_http(backend, args, workdir))
                print(
                    f"{name:10} http     {got['rate']:8,.0f} events/s"
                    f"   request p50 {got['p50']:.0f} ms, p99 {got['p99']:.0f} ms"
                    f"   serve CPU {got['cpu_per_1000']:.2f} s per 1,000 events"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
