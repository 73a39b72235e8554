"""What one worker round costs: statements, round trips, wall and client CPU time.

A worker's database round (``DeliveryQueue.round``) settles the results gathered so
far and claims more; on PostgreSQL each statement is a round trip, and the idle
round (nothing to settle, nothing due: what a worker runs after its last send, and
what every worker but one runs after each ingest's NOTIFY) is all fixed cost. This
runs the real ``Worker`` against a fake sender that answers 200 at once:

- ``idle``: ``--calls`` rounds with nothing due, each with the next-due read the
  worker then makes before it waits (``Worker._next_due``; on PostgreSQL the round
  itself now answers it);
- ``busy``: ``--calls`` rounds, each settling the ``--rows`` deliveries the last one
  claimed and claiming ``--rows`` new ones (ingested before each round, not timed).

It prints, per kind, the median and p90 wall time, the client's CPU per round, and the
statements SQLAlchemy sent per round plus the transactions' BEGIN and COMMIT (a ping,
when the pool sends one, is not counted: it goes past SQLAlchemy's events). The worker
has an engine of its own, as in a worker process.
``python -m bench.round_cost --database-url postgresql+psycopg://...``; without one it
uses a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from hookline.devtools.fake import fake_data
from hookline.dispatch.settings import WorkerSettings
from hookline.dispatch.worker import Worker
from hookline.domain.deliveries import AttemptResult
from hookline.domain.secrets import SecretBox
from hookline.services import platforms, webhooks
from hookline.services.context import Context
from hookline.services.ingest import IncomingEvent, ingest
from hookline.store.db import create_database
from hookline.store.migrate import upgrade

TOPIC = "receipt.receipt_validated"
OK = AttemptResult(200, 1.0, "", None, None, None)


class AnswerAtOnce:
    """A sender that answers every request 200 without a socket."""

    async def send(self, request: Any) -> AttemptResult:
        return OK

    async def close(self) -> None:
        return None


class Counter:
    def __init__(self, engine: Any) -> None:
        self.count = 0
        for name in ("before_cursor_execute", "begin", "commit"):
            event.listen(engine, name, self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1


async def _timed(
    calls: int, counter: Counter, before: Callable[[], None], step: Callable[[], Awaitable[Any]]
) -> tuple[list[float], list[float], list[int]]:
    walls, cpus, counts = [], [], []
    for _ in range(calls):
        before()
        counter.count = 0
        wall, cpu = time.perf_counter(), time.process_time()
        await step()
        walls.append((time.perf_counter() - wall) * 1e3)
        cpus.append((time.process_time() - cpu) * 1e3)
        counts.append(counter.count)
    return walls, cpus, counts


def _line(kind: str, walls: list[float], cpus: list[float], counts: list[int]) -> str:
    walls.sort()
    return (
        f"  {kind:5} median {statistics.median(walls):6.2f} ms, p90"
        f" {walls[int(len(walls) * 0.9)]:6.2f} ms wall; client CPU"
        f" {statistics.median(cpus):5.2f} ms; {statistics.median(counts):.0f} statements"
        " (BEGIN and COMMIT included)"
    )


async def measure(url: str, rows: int, calls: int) -> None:
    db = create_database(url)
    upgrade(db)
    ctx = Context(db=db, box=SecretBox("bench-key"))
    pid = platforms.create_platform(ctx, "Bench", webhook_limit=3).platform.id
    platforms.set_zone(ctx, pid, 1, datetime.now(UTC) + timedelta(days=30))
    for i in range(3):
        webhooks.create_webhook(ctx, pid, name=f"h{i}", url="https://example.com/h", topics=[TOPIC])
    # the worker's own engine, as in a worker process: ingest's durable commits do not
    # share its connection (and set its session back and forth)
    worker_ctx = Context(db=create_database(url), box=ctx.box)
    worker = Worker(
        queue=worker_ctx.queue,
        sender=AnswerAtOnce(),
        decrypt=ctx.box.decrypt,
        settings=WorkerSettings(concurrency=rows, per_webhook_cap=rows, linger=0.0),
    )
    worker._loop, worker._event = asyncio.get_running_loop(), asyncio.Event()
    counter = Counter(worker_ctx.db.engine)
    rng = random.Random(7)  # noqa: S311 - test data
    made = iter(range(10**9))

    def publish() -> None:
        per_event = 3  # three webhooks
        events = [
            IncomingEvent(pid, TOPIC, fake_data(TOPIC, rng), f"p{next(made)}")
            for _ in range(max(1, rows // per_event))
        ]
        ingest(ctx, events)

    async def busy_round() -> None:
        await worker._claim()
        await asyncio.gather(*worker._sending.values())

    async def idle_round() -> None:  # and what the worker then reads before it waits
        await worker._claim()
        await worker._next_due()

    for _ in range(5):  # warm up: statements prepared, sessions set
        publish()
        await busy_round()
    await idle_round()
    busy = await _timed(calls, counter, publish, busy_round)
    await idle_round()  # the last results written
    idle = await _timed(calls, counter, lambda: None, idle_round)
    print(f"{db.dialect}: {rows} rows a busy round, {calls} rounds each")
    print(_line("idle", *idle))
    print(_line("busy", *busy))
    db.engine.dispose()
    worker_ctx.db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(measure(args.database_url, args.rows, args.calls))
        return
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(measure(f"sqlite:///{Path(tmp) / 'bench.db'}", args.rows, args.calls))


if __name__ == "__main__":
    main()
