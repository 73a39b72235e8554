"""What the delivery controls (issue 16) add to the hot path, per call, on each backend.

With every webhook on default settings the worker's claim runs one more statement
(``store.ordering.claim_heads``: FIFO webhooks with nothing in flight, read through
the partial index ``ix_webhooks_fifo``, empty; rate limits are read with the claimed
deliveries, so they cost no statement); ingest reads each webhook's filter,
pause and ordering in the statement that finds the webhooks of each topic, once per
platform and batch (``store.ingest.targets``). This times them, and for scale an
existing one-row read of the queue
(``claims.next_due_at``), ``--calls`` times each inside one transaction, against a
platform with ``--webhooks`` plain webhooks, and prints the median and p99 in
microseconds. ``python -m bench.controls_cost --database-url postgresql+psycopg://...``;
without one it uses a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hookline.domain.secrets import SecretBox
from hookline.services import platforms, webhooks
from hookline.services.context import Context
from hookline.store.claims import next_due_at
from hookline.store.db import create_database
from hookline.store.ingest import targets
from hookline.store.migrate import upgrade
from hookline.store.ordering import claim_heads

TOPIC = "receipt.receipt_validated"


def _time(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    took = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        took.append((time.perf_counter() - start) * 1e6)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.99) - 1]


def measure(url: str, hooks: int, calls: int) -> None:
    db = create_database(url)
    upgrade(db)
    ctx = Context(db=db, box=SecretBox("bench-key"))
    pid = platforms.create_platform(ctx, "Bench", webhook_limit=hooks).platform.id
    platforms.set_zone(ctx, pid, 1, datetime.now(UTC) + timedelta(days=30))
    for i in range(hooks):
        webhooks.create_webhook(ctx, pid, name=f"h{i}", url="https://example.com/h", topics=[TOPIC])
    now = datetime.now(UTC)
    with db.write() as conn:
        heads = _time(
            lambda: claim_heads(conn, owner="bench", now=now, lease_until=now, limit=100), calls
        )
        ingest = _time(lambda: targets(conn, pid, now), calls)
        base = _time(lambda: next_due_at(conn), calls)
    print(f"{db.dialect}: {hooks} webhooks, {calls} calls each")
    print(f"  claim_heads (per claim):         median {heads[0]:7.1f} us, p99 {heads[1]:7.1f} us")
    print(f"  targets (per ingest batch):      median {ingest[0]:7.1f} us, p99 {ingest[1]:7.1f} us")
    print(f"  baseline claims.next_due_at:     median {base[0]:7.1f} us, p99 {base[1]:7.1f} us")
    db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--webhooks", type=int, default=200)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    if args.database_url:
        measure(args.database_url, args.webhooks, args.calls)
        return
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.webhooks, args.calls)


if __name__ == "__main__":
    main()
