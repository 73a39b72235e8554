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

``--churn N`` first delivers N deliveries through the same claims and settles (not
timed), as a database does between two vacuums: on PostgreSQL each one leaves dead
entries in the queue's indexes until a vacuum removes them, and the run's database has
autovacuum off on ``deliveries``. On PostgreSQL it also prints the index pages each
round read (``pg_statio_user_indexes``, every table's indexes; ingest's own reads left
out), a count the machine's load does not move.
``python -m bench.round_cost --database-url postgresql+psycopg://... [--churn 150000]``;
without a URL it uses a temporary SQLite file.
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


async def measure(url: str, rows: int, calls: int, churn: int = 0) -> None:
    db = create_database(url)
    upgrade(db)
    postgres = db.dialect == "postgresql"
    if postgres:  # what this run counts is the worker's: ingest's own reads are not
        event.listen(db.engine, "connect", _untracked)
        with db.write() as conn:  # dead entries stay until the run's end (see --churn)
            conn.exec_driver_sql("ALTER TABLE deliveries SET (autovacuum_enabled = false)")
    ctx = Context(db=db, box=SecretBox("bench-key"))
    pid = platforms.create_platform(ctx, "Bench", webhook_limit=3).platform.id
    platforms.set_zone(ctx, pid, 1, datetime.now(UTC) + timedelta(days=30))
    for i in range(3):
        webhooks.create_webhook(ctx, pid, name=f"h{i}", url="https://example.com/h", topics=[TOPIC])
    # the worker's own engine, as in a worker process: ingest's durable commits do not
    # share its connection (and set its session back and forth)
    worker_ctx = Context(db=create_database(url), box=ctx.box)
    rng = random.Random(7)  # noqa: S311 - test data
    made = iter(range(10**9))

    def publish(n: int = rows) -> None:
        per_event = 3  # three webhooks
        events = [
            IncomingEvent(pid, TOPIC, fake_data(TOPIC, rng), f"p{next(made)}")
            for _ in range(max(1, n // per_event))
        ]
        ingest(ctx, events)

    if churn:
        await _churn(worker_ctx, ctx.box, publish, churn)
    worker = _worker(worker_ctx, ctx.box, rows)
    counter = Counter(worker_ctx.db.engine)

    async def busy_round() -> None:
        await worker._claim()
        await asyncio.gather(*worker._sending.tasks())

    async def idle_round() -> None:  # and what the worker then reads before it waits
        await worker._claim()
        await worker._next_due()

    for _ in range(5):  # warm up: statements prepared, sessions set
        publish()
        await busy_round()
    await idle_round()
    pages = _IndexPages(db, worker_ctx.db) if postgres else None
    busy = await _timed(calls, counter, publish, busy_round)
    await idle_round()  # the last results written
    busy_pages = pages.read() if pages else None
    idle = await _timed(calls, counter, lambda: None, idle_round)
    idle_pages = pages.read() if pages else None
    print(f"{db.dialect}: {rows} rows a busy round, {calls} rounds each, after {churn:,} churned")
    print(_line("idle", *idle) + _pages(idle_pages, calls))
    print(_line("busy", *busy) + _pages(busy_pages, calls + 1))
    db.engine.dispose()
    worker_ctx.db.engine.dispose()


def _worker(ctx: Context, box: SecretBox, rows: int) -> Worker:
    worker = Worker(
        queue=ctx.queue,
        sender=AnswerAtOnce(),
        decrypt=box.decrypt,
        settings=WorkerSettings(concurrency=rows, per_webhook_cap=rows, linger=0.0),
    )
    worker._loop, worker._event = asyncio.get_running_loop(), asyncio.Event()
    return worker


async def _churn(ctx: Context, box: SecretBox, publish: Callable[[int], None], total: int) -> None:
    """``total`` deliveries ingested, claimed and settled in rounds of 1,500, untimed."""
    worker, step, done = _worker(ctx, box, 1500), 1500, 0
    while done < total:
        publish(step)
        await worker._claim()
        await asyncio.gather(*worker._sending.tasks())
        done += step
        if done % 30_000 < step:
            print(f"  churned {done:,} of {total:,} deliveries", flush=True)
    await worker._claim()  # the last results written


def _untracked(dbapi_connection: Any, _record: Any) -> None:
    """Ingest's connections leave ``pg_statio`` alone (a superuser setting: the bench's)."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET track_counts = off")
    dbapi_connection.commit()


class _IndexPages:
    """Index pages read since the last ``read``, by index (every table's)."""

    SQL = "SELECT indexrelname, idx_blks_hit + idx_blks_read FROM pg_statio_user_indexes"
    OTHERS = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend'"
    )

    def __init__(self, db: Any, worker_db: Any) -> None:
        self.db, self.worker_db = db, worker_db
        self.last = self._now()

    def _now(self) -> dict[str, int]:
        """The counts once every other session of this database has ended: a backend
        flushes its counts before it leaves ``pg_stat_activity``."""
        self.worker_db.engine.dispose()
        self.db.engine.dispose()
        with self.db.read() as conn:
            others = conn.exec_driver_sql(self.OTHERS)
            deadline = time.monotonic() + 30
            while others.scalar_one() and time.monotonic() < deadline:
                time.sleep(0.01)
                conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
                others = conn.exec_driver_sql(self.OTHERS)
            conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
            return {name: int(n) for name, n in conn.exec_driver_sql(self.SQL)}

    def read(self) -> dict[str, int]:
        now = self._now()
        seen = {name: n - self.last.get(name, 0) for name, n in now.items()}
        self.last = now
        return seen


def _pages(seen: dict[str, int] | None, rounds: int) -> str:
    if seen is None:
        return ""
    each = ", ".join(
        f"{name.removeprefix('ix_deliveries_')} {n / rounds:,.0f}"
        for name, n in sorted(seen.items(), key=lambda kv: -kv[1])
        if n >= rounds
    )
    return f"\n        index pages a round {sum(seen.values()) / rounds:,.0f}: {each}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--churn", type=int, default=0, help="Deliveries delivered first.")
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(measure(args.database_url, args.rows, args.calls, args.churn))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(measure(url, args.rows, args.calls, args.churn))


if __name__ == "__main__":
    main()
