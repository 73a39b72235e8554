"""Health figures, event-log search and the audit read at scale: the figures in docs/api.md.

    python -m bench.insight [--deliveries 200000] [--backend sqlite|postgresql|both]

One busy webhook with ``--deliveries`` settled deliveries (one attempt each, one in ten
failed) spread over seven days and a neighbour webhook with as many; then each read is
timed 20 times (median) and, on PostgreSQL, its plan printed: the stats of one window,
the list's badges, a search by idempotency key and the first page of the event log.

A benchmark, not a test: nothing here asserts a speed. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from hookline.domain import wire
from hookline.domain.deliveries import Attempt, AttemptTrigger
from hookline.domain.ids import new_ids
from hookline.domain.secrets import SecretBox
from hookline.services import event_log, platforms, stats, webhooks
from hookline.services.context import Context
from hookline.store import create_database
from hookline.store import ingest as store
from hookline.store.claims import insert_attempts
from hookline.store.migrate import upgrade
from hookline.store.stats import _latencies

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TOPIC = "prize.points_added"


def fill(ctx: Context, platform_id: str, webhook_id: str, count: int) -> str:
    """``count`` settled deliveries with one attempt each; returns one idempotency key."""
    now = ctx.clock()
    chunk = 5000
    key = ""
    for first in range(0, count, chunk):
        size = min(chunk, count - first)
        event_ids, delivery_ids = new_ids("evt", size), new_ids("dlv", size)
        keys = wire.new_idempotency_keys(size)
        key = keys[0]
        events, rows, made = [], [], []
        for i in range(size):
            at = now - timedelta(seconds=(first + i) * 7 * 86400 / count)
            events.append(
                store.event_row(
                    event_id=event_ids[i],
                    platform_id=platform_id,
                    topic=TOPIC,
                    body=b"{}",
                    occurred_at=at,
                    received_at=at,
                )
            )
            row = store.delivery_row(
                delivery_id=delivery_ids[i],
                event_id=event_ids[i],
                webhook_id=webhook_id,
                platform_id=platform_id,
                topic=TOPIC,
                idempotency_key=keys[i],
                now=at,
            )
            failed = i % 10 == 0
            row.update(state="failed" if failed else "delivered", completed_at=at)
            rows.append(row)
            attempt = Attempt(
                1, AttemptTrigger.WORKER, at, 20.0 + i % 300, 500 if failed else 200, None, None, ""
            )
            made.append((delivery_ids[i], attempt))
        with ctx.db.write() as conn:
            store.insert_events(conn, events)
            store.insert_deliveries(conn, rows)
            insert_attempts(conn, made)
    with ctx.db.write() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return key


def median_ms(call: Callable[[], object], n: int = 20) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def run(url: str, count: int) -> None:
    db = create_database(url)
    upgrade(db)
    ctx = Context(db=db, box=_box(), clock=lambda: datetime.now(UTC))
    pf = platforms.create_platform(ctx, "Bench").platform
    platforms.set_zone(ctx, pf.id, 1, ctx.clock() + timedelta(days=30))
    busy = webhooks.create_webhook(
        ctx, pf.id, name="busy", url="https://a.example/x", topics=[TOPIC]
    )
    other = webhooks.create_webhook(
        ctx, pf.id, name="other", url="https://b.example/x", topics=[TOPIC]
    )
    key = fill(ctx, pf.id, busy.id, count)
    fill(ctx, pf.id, other.id, count)
    print(f"{db.engine.dialect.name}: {count} deliveries per webhook, 2 webhooks")
    for window in stats.WINDOWS:

        def figures(w: str = window) -> object:
            return stats.webhook_stats(ctx, pf.id, busy.id, w)

        print(f"  stats window={window}: {median_ms(figures):.1f} ms")
    badges = median_ms(lambda: stats.health_of(ctx, pf.id, [busy.id, other.id]))
    print(f"  list badges: {badges:.1f} ms")
    wanted = event_log.event_filter(ctx, pf.id, q=key)
    print(
        f"  event search by key: {median_ms(lambda: event_log.search(ctx, pf.id, wanted)):.1f} ms"
    )
    first = event_log.event_filter(ctx, pf.id)
    print(
        f"  event log first page: {median_ms(lambda: event_log.search(ctx, pf.id, first)):.1f} ms"
    )
    failed = event_log.event_filter(ctx, pf.id, outcome="failed")
    print(
        f"  event log failed page: {median_ms(lambda: event_log.search(ctx, pf.id, failed)):.1f} ms"
    )
    if db.engine.dialect.name == "postgresql":
        since = ctx.clock() - timedelta(days=7)
        query = _latencies(busy.id, since)
        with db.engine.connect() as conn:
            compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
            for (line,) in conn.execute(text(f"EXPLAIN {compiled}")):
                print("   ", line)
    db.dispose()


def _box() -> SecretBox:
    return SecretBox("bench-secret-key")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.deliveries)
    if args.backend in ("postgresql", "both"):
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"hookline_bench_insight_{int(time.time())}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}", args.deliveries)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
