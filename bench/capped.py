"""A slow receiver's backlog and everyone else's claims.

One webhook (A) is at its in-flight cap, as a slow receiver keeps it, with a backlog of
``--backlogs`` deliveries due before anyone else's. Each round, ``--rows`` deliveries
of another webhook (B) come due and one worker round (``DeliveryQueue.round``, the
worker's own form: its in-flight counts given) settles the last round's and claims
them; the round is timed. A's backlog grows between the measures, statistics
refreshed each time (autovacuum's analyze would do that).

A claim that walked A's backlog to reach B's rows paid for every row of it, in every
round of every worker: ``store.due_by_webhook`` says why it no longer does.

    python -m bench.capped [--database-url postgresql+psycopg://...] [--backlogs 0 10000 100000]

Without a URL it uses a temporary SQLite file. Prints, per backlog, the round's median
and p90 wall time and the rows leased per round (all of B's, none of A's, or the
claim is wrong).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.scenarios import backlog_rows as rows
from bench.scenarios.backlog import delivered
from hookline.domain.deliveries import InFlight, Settlement
from hookline.store.db import Database, create_database
from hookline.store.migrate import upgrade
from hookline.store.queue import DeliveryQueue

CAP = 50
SLOW, OTHER = "whk_backlog0", "whk_backlog1"


def measure(url: str, backlogs: list[int], calls: int, per_round: int) -> None:
    db = create_database(url)
    upgrade(db)
    now = datetime.now(UTC)
    with db.write() as conn:
        rows.tenant(conn, now, "http://127.0.0.1:9/")
        # A's cap is taken: by deliveries in flight (what SQLite's claim counts) and in
        # the worker's own count (what a PostgreSQL worker's claim is told)
        rows.deliveries(conn, "f", CAP, at=now, state="in_flight", due=now, webhook=SLOW)
    print(f"{db.dialect}: A at its cap of {CAP}, {per_round} of B's due a round, {calls} rounds")
    grown = 0
    for backlog in sorted(backlogs):
        if backlog > grown:
            started = time.perf_counter()
            _grow(db, grown, backlog, now)
            print(f"  (backlog of {backlog:,} loaded in {time.perf_counter() - started:.0f} s)")
            grown = backlog
        walls, leased = _rounds(db, calls, per_round, f"r{backlog}_")
        print(
            f"  A's backlog {backlog:>9,}: round median {statistics.median(walls):7.2f} ms, "
            f"p90 {sorted(walls)[int(0.9 * len(walls))]:7.2f} ms; "
            f"leased {statistics.mean(leased):.0f} a round"
        )
    db.dispose()


def _grow(db: Database, start: int, end: int, now: datetime) -> None:
    step = 1_000_000
    for first in range(start, end, step):
        with db.write() as conn:
            count = min(step, end - first)
            due = now - timedelta(hours=1)
            rows.deliveries(
                conn, f"a{first}_", count, at=now, state="pending", due=due, webhook=SLOW
            )
    with db.write() as conn:
        rows.analyze(conn)


def _rounds(db: Database, calls: int, per_round: int, prefix: str) -> tuple[list[float], list[int]]:
    q = DeliveryQueue(db)
    walls: list[float] = []
    leased: list[int] = []
    settle: list[Settlement] = []
    for i in range(calls + 1):
        now = datetime.now(UTC)
        with db.write() as conn:  # B's new rows, due a second ago: after A's backlog
            due = now - timedelta(seconds=1)
            rows.deliveries(
                conn, f"{prefix}{i}_", per_round, at=now, state="pending", due=due, webhook=OTHER
            )
        mine = InFlight({SLOW: CAP}, peers_alive_since=now - timedelta(seconds=3))
        started = time.perf_counter()
        got = q.round(
            settle,
            owner="capped",
            now=now,
            lease_until=now + timedelta(minutes=5),
            limit=per_round,
            per_webhook_cap=CAP,
            peek=False,
            in_flight=mine,
        ).leased
        if i:  # the first round plans and caches the statements
            walls.append((time.perf_counter() - started) * 1000)
            leased.append(len(got))
        if any(d.webhook_id == SLOW for d in got):
            raise SystemExit("A is at its cap: a claim leased one of its deliveries")
        settle = [delivered(d.id, d.webhook_id) for d in got]
    q.settle(settle, datetime.now(UTC), owner="capped")  # none left in flight for the next
    return walls, leased


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--backlogs", type=int, nargs="+", default=[0, 10_000, 100_000])
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--rows", type=int, default=40, help="B's deliveries due a round.")
    args = parser.parse_args()
    if args.database_url:
        measure(args.database_url, args.backlogs, args.calls, args.rows)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'capped.db'}"
        measure(url, args.backlogs, args.calls, args.rows)


if __name__ == "__main__":
    main()
