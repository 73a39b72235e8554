"""Cost must not grow with history: claims on an empty queue, then behind a backlog.

    python -m bench.run --backlog [--backlog-pending 1000000] [--backlog-history 1000000]

Per backend, on a fresh database, in this process (no HTTP: the queue's own cost):
1. claim throughput: ``--backlog-due`` deliveries due now, claimed and settled as
   delivered by one worker loop (``round``, 150 at a time) until none is
   left: deliveries/s, on the empty database;
2. ``--backlog-pending`` deliveries pending for tomorrow and ``--backlog-history``
   delivered ones (with their events and attempts, 40 days old) are added, statistics
   refreshed; with ``--backlog-churn N``, N more deliveries then go through the same
   claims and settles with autovacuum off on ``deliveries`` (on PostgreSQL each leaves
   dead index entries until a vacuum: the churn between two vacuums that loaded
   history lacks); the same claim measure again: the ratio to (1) is the figure;
3. a second thread ingests 20 events and claims every 20 ms, alone for 10 s (its own
   p50/p99), then while retention purges that history (30-day retention,
   ``DeliveryQueue.purge`` batch by batch): purge rate, p50/p99/max of those calls.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import harness
from bench.log import console
from bench.scenarios import backlog_rows as rows
from hookline.devtools.fake import fake_data
from hookline.domain.deliveries import (
    Attempt,
    AttemptTrigger,
    DeliveryState,
    DueDelivery,
    InFlight,
    Settlement,
)
from hookline.domain.secrets import SecretBox
from hookline.services.context import Context
from hookline.services.ingest import IncomingEvent, ingest
from hookline.store.db import Database, create_database
from hookline.store.migrate import upgrade
from hookline.store.queue import DeliveryQueue

RETENTION = timedelta(days=30)
BATCH = 150
QUIET_SECONDS = 10.0  # the traffic alone, before the purge: its own p99


@dataclass
class BacklogResult:
    backend: str
    pending: int
    history: int
    churned: int = 0
    empty_rate: float = 0.0
    backlog_rate: float = 0.0
    load_seconds: float = 0.0
    purge_seconds: float = 0.0
    purged_events: int = 0
    purge_batch_ms: list[float] = field(default_factory=list)
    concurrent_ms: list[float] = field(default_factory=list)
    quiet_ms: list[float] = field(default_factory=list)


def claim_rate(db: Database, due: int, prefix: str) -> float:
    """Deliveries/s of one worker loop claiming and settling ``due`` rows until none is left."""
    now = datetime.now(UTC)
    with db.write() as conn:
        rows.deliveries(conn, prefix, due, at=now, state="pending", due=now - timedelta(seconds=1))
    q = DeliveryQueue(db)
    done, settle = 0, list[Settlement]()
    started = time.perf_counter()
    while True:
        got = _cycle(q, settle)
        settle = [delivered(d.id, d.webhook_id) for d in got]
        done += len(got)
        if not got:
            break
    return done / (time.perf_counter() - started)


def _cycle(q: DeliveryQueue, settle: list[Settlement]) -> list[DueDelivery]:
    """One worker round as ``hookline worker`` runs it: everything it leased last time is
    settled here, so it has nothing in flight as it claims (``InFlight``)."""
    now = datetime.now(UTC)
    return q.round(
        settle,
        owner="backlog",
        now=now,
        lease_until=now + timedelta(seconds=30),
        limit=BATCH,
        per_webhook_cap=200,
        peek=False,
        in_flight=InFlight({}, peers_alive_since=now - timedelta(seconds=3)),
    ).leased


def delivered(delivery_id: str, webhook_id: str) -> Settlement:
    now = datetime.now(UTC)
    attempt = Attempt(1, AttemptTrigger.WORKER, now, 1.0, 200, None, None, "")
    return Settlement(delivery_id, webhook_id, attempt, DeliveryState.DELIVERED, None)


class Traffic:
    """A second thread that ingests 20 events and claims every 20 ms, timing each call."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.ctx = Context(db=db, box=SecretBox("backlog bench"))
        rng = random.Random(20260101)  # noqa: S311 - test data
        self.data = [fake_data(rows.TOPIC, rng) for _ in range(20)]
        self.calls = 0

    def run(self, stop: threading.Event, into: list[float]) -> None:
        q, settle = DeliveryQueue(self.db), list[Settlement]()
        while not stop.is_set():
            self.calls += 1
            items = [
                IncomingEvent(rows.PLATFORM, rows.TOPIC, d, f"live{self.calls}-{i}")
                for i, d in enumerate(self.data)
            ]
            t = time.perf_counter()
            ingest(self.ctx, items)
            into.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            got = _cycle(q, settle)
            into.append((time.perf_counter() - t) * 1000)
            settle = [delivered(d.id, d.webhook_id) for d in got]
            stop.wait(0.02)

    def start(self, into: list[float]) -> tuple[threading.Event, threading.Thread]:
        """The traffic, and beside it the SQLite checkpointer every hookline process runs
        (``dispatch.runner.checkpoint_periodically``): without it a commit of the traffic
        or of the purge copied the whole WAL back itself once it passed 16 MiB."""
        stop = threading.Event()
        thread = threading.Thread(target=self._run_both, args=(stop, into), name="backlog-traffic")
        thread.start()
        return stop, thread

    def _run_both(self, stop: threading.Event, into: list[float]) -> None:
        checkpointer = threading.Thread(target=self._checkpoint, args=(stop,), name="checkpoint")
        checkpointer.start()
        try:
            self.run(stop, into)
        finally:
            stop.set()
            checkpointer.join()

    def _checkpoint(self, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            with contextlib.suppress(Exception):  # busy: the next second's will do
                self.db.checkpoint()


def purge_under_load(db: Database, result: BacklogResult) -> None:
    """The traffic alone for a few seconds, then again while every old batch is purged."""
    traffic = Traffic(db)
    stop, thread = traffic.start(result.quiet_ms)
    time.sleep(QUIET_SECONDS)
    stop.set()
    thread.join()
    stop, thread = traffic.start(result.concurrent_ms)
    q = DeliveryQueue(db)
    started = time.perf_counter()
    try:
        while True:
            t = time.perf_counter()
            gone = q.purge(datetime.now(UTC), retention_period=RETENTION)
            result.purge_batch_ms.append((time.perf_counter() - t) * 1000)
            result.purged_events += gone
            if not gone:
                break
    finally:
        result.purge_seconds = time.perf_counter() - started
        stop.set()
        thread.join()


def run_backend(args: argparse.Namespace, name: str, workdir: Path) -> BacklogResult:
    backend = harness.Backend(name, workdir)
    env = backend.prepare("backlog")
    url = env.get("HOOKLINE_DATABASE_URL") or f"sqlite:///{backend.db_name}"
    result = BacklogResult(name, args.backlog_pending, args.backlog_history)
    db = create_database(url)
    try:
        upgrade(db)
        with db.write() as conn:
            rows.tenant(conn, datetime.now(UTC), "http://127.0.0.1:9/")
        result.empty_rate = claim_rate(db, args.backlog_due, "a")
        console.log(f"{name}: empty database, {result.empty_rate:,.0f} claimed+settled/s")
        result.load_seconds = load_backlog(db, args)
        console.log(f"{name}: backlog loaded in {result.load_seconds:.0f} s")
        if args.backlog_churn:
            churn(db, args.backlog_churn)
            result.churned = args.backlog_churn
        result.backlog_rate = claim_rate(db, args.backlog_due, "b")
        console.log(f"{name}: behind the backlog, {result.backlog_rate:,.0f} claimed+settled/s")
        purge_under_load(db, result)
        console.log(
            f"{name}: purged {result.purged_events:,} events in {result.purge_seconds:.0f} s"
        )
    finally:
        db.dispose()
        backend.cleanup()
    return result


def churn(db: Database, total: int) -> None:
    """``total`` deliveries claimed and settled, with autovacuum off on ``deliveries``
    (PostgreSQL: it stays off for this database's life, which is the run's)."""
    if db.dialect == "postgresql":
        with db.write() as conn:
            conn.exec_driver_sql("ALTER TABLE deliveries SET (autovacuum_enabled = false)")
    started = time.perf_counter()
    step = 200_000
    for first in range(0, total, step):
        claim_rate(db, min(step, total - first), f"c{first}_")
        console.log(f"churned {min(first + step, total):,} of {total:,} deliveries")
    console.log(f"churn took {time.perf_counter() - started:.0f} s")


def load_backlog(db: Database, args: argparse.Namespace) -> float:
    started = time.perf_counter()
    now = datetime.now(UTC)
    step = 1_000_000  # one transaction per million rows: a bounded WAL and undo
    for start in range(0, args.backlog_history, step):
        with db.write() as conn:
            count = min(step, args.backlog_history - start)
            rows.deliveries(
                conn,
                f"h{start}",
                count,
                at=now - timedelta(days=40),
                state="delivered",
                due=None,
                attempts=True,
            )
    for start in range(0, args.backlog_pending, step):
        with db.write() as conn:
            count = min(step, args.backlog_pending - start)
            rows.deliveries(
                conn, f"p{start}", count, at=now, state="pending", due=now + timedelta(days=1)
            )
    with db.write() as conn:
        rows.analyze(conn)
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def markdown(results: list[BacklogResult]) -> str:
    """The backlog table for docs/benchmarks.md."""
    lines = [
        "| backend | pending-later / history / churned rows | claimed+settled/s, empty "
        "| behind the backlog "
        "| ratio | purge: events/s, batch p99 | ingest/claim p50 / p99, no purge "
        "| during the purge p50 / p99 / max |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = r.backlog_rate / r.empty_rate if r.empty_rate else 0.0
        purge_rate = r.purged_events / r.purge_seconds if r.purge_seconds else 0.0
        c, quiet = r.concurrent_ms, r.quiet_ms
        lines.append(
            f"| {r.backend} | {r.pending:,} / {r.history:,} / {r.churned:,} | {r.empty_rate:,.0f} "
            f"| {r.backlog_rate:,.0f} | {ratio:.2f} "
            f"| {purge_rate:,.0f}, {percentile(r.purge_batch_ms, 0.99):.0f} ms "
            f"| {percentile(quiet, 0.5):.1f} / {percentile(quiet, 0.99):.1f} ms "
            f"| {percentile(c, 0.5):.1f} / {percentile(c, 0.99):.1f} / {max(c, default=0):.1f} ms |"
        )
    return "\n".join(lines)


def run_backlog(args: argparse.Namespace, backends: list[str], workdir: Path) -> str:
    results = [run_backend(args, name, workdir) for name in backends]
    table = markdown(results)
    console.print(table)
    return table
