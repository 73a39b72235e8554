"""Rate-limited webhooks: at most N leases in any window, every worker counted (issue 16 §2).

A claim leases due deliveries as usual, then ``admit`` counts those of rate-limited
webhooks against the webhook's row in ``rate_windows``: a log of its leases in the
last ``WINDOW`` (claim time, count; the claiming worker's clock). A lease is granted
only while fewer than N were granted in the ``WINDOW`` before it: a sliding window,
not per calendar second, so no two bursts meet at a second's edge. ``WINDOW`` is 1.2
seconds: the extra 0.2 s absorbs the spread between a lease and its request reaching
the receiver, so the receiver never counts more than N in any one second of its own
clock; the price is a steady rate up to a sixth below N (N every 1.2 s). Of that
0.2 s, ``SEND_SLACK`` (50 ms) bounds the time to a connection in hand: a lease gets
``send_by``, its stamp plus ``SEND_SLACK``, and a request with no connection by then is
not sent (``dispatch.send_by``) but given back. The other 150 ms are for the request's
way from there to the receiver's handler, which on this 2-core machine took up to
170 ms under load (the receiver's own turn included). Measured with
``python -m bench.ratelimit``: a window of 1.1 s with the whole tenth as slack
counted 113 to 195 in one sliding second at a limit of 100; 1.1 s with 50 ms of slack
checked at the connection, 129; 1.2 s, 100. The row is locked (PostgreSQL ``FOR
UPDATE``; SQLite has one writer) and written in the claim's own transaction, so claims
on any number of processes and machines count together, exactly (machines' clocks must
agree, as NTP keeps them). Leases over the limit are given back before the
transaction commits: no attempt is made or counted, the delivery is pending again and
due when the window has room. Leases are stamped last (after the backlog is spread).

Why after the claim and not inside it: the ordinary claim walks the due index and
stays as it was for webhooks without a limit, and reads each webhook's limit with its
deliveries: a claim that leased none of a limited webhook's runs nothing more (it once
read an index of limited webhooks each time, a round trip; migration 0013 dropped it).
A webhook whose window is full has its backlog spread over the next windows, ``limit``
rows each (up to ``HORIZON_ROWS`` rows, the rest after them), so later claims do not
keep leasing and giving back the same rows, and the worker's "next due" wait stays
exact.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hookline.domain.deliveries import DeliveryState, DueDelivery
from hookline.store.db import chunks
from hookline.store.tables import deliveries, rate_windows

WINDOW = timedelta(milliseconds=1200)
WINDOW_MS = 1200
SEND_SLACK = timedelta(milliseconds=50)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HORIZON_WINDOWS = 10
HORIZON_ROWS = 2000
PENDING = DeliveryState.PENDING.value
IN_FLIGHT = DeliveryState.IN_FLIGHT.value
IS_PENDING = deliveries.c.state == literal_column(f"'{PENDING}'")

_WINDOW = select(rate_windows.c.leases).where(rate_windows.c.webhook_id == bindparam("webhook_id"))
_WINDOW_LOCKED = _WINDOW.with_for_update()


def admit(
    conn: Connection,
    leased: list[DueDelivery],
    now: datetime,
    *,
    clock: Callable[[], datetime],
) -> list[DueDelivery]:
    """The leases the webhooks' limits allow now; the others go back pending, unattempted.

    ``clock``: the clock ``now`` was read from. Leases are logged at its reading taken
    last, after giving back and spreading (never before ``now``): a claim that waited
    for the write lock or a row, or spread a long backlog, sends later than it asked,
    and its window must start when its requests really leave. The same clock, not
    ``time.monotonic``: a clock moved by hand (a test's) then stamps exactly where it
    stands, and a claim that stalled in real time does not push its window ahead of it.
    """
    limits = {d.webhook_id: d.rate_limit_per_second for d in leased if d.rate_limit_per_second}
    if not limits:
        return leased  # no statement: the claim read each webhook's limit
    wanted = Counter(d.webhook_id for d in leased if d.webhook_id in limits)
    refused: set[str] = set()
    logs: dict[str, list[tuple[int, int]]] = {}
    for webhook_id in sorted(wanted):  # one lock order: two claims never deadlock
        limit = limits[webhook_id]
        at = _ms(now, clock)
        log = _window(conn, webhook_id, at)
        granted = max(0, min(wanted[webhook_id], limit - sum(n for _, n in log)))
        logs[webhook_id] = [*log, (-1, granted)] if granted else log  # -1: stamped below
        if granted < wanted[webhook_id]:
            over = [d.id for d in leased if d.webhook_id == webhook_id][granted:]
            _give_back(conn, over, now)
            oldest = min([t for t, _ in log] + [at])
            _spread(conn, webhook_id, limit, EPOCH + timedelta(milliseconds=oldest + WINDOW_MS))
            refused.update(over)
    stamp = _ms(now, clock)
    for webhook_id, log in logs.items():
        entries = [(stamp if t == -1 else t, n) for t, n in log]
        conn.execute(
            update(rate_windows)
            .where(rate_windows.c.webhook_id == webhook_id)
            .values(leases=json.dumps(entries, separators=(",", ":")))
        )
    send_by = EPOCH + timedelta(milliseconds=stamp) + SEND_SLACK
    return [
        replace(d, send_by=send_by) if d.webhook_id in logs else d
        for d in leased
        if d.id not in refused
    ]


def _ms(now: datetime, clock: Callable[[], datetime]) -> int:
    """The clock's time now, or ``now`` if it is later (a clock stepped back), in epoch
    milliseconds."""
    return int((max(now, clock()) - EPOCH) / timedelta(milliseconds=1))


def _window(conn: Connection, webhook_id: str, at: int) -> list[tuple[int, int]]:
    """The webhook's leases in the window before ``at``, its row locked till commit.

    Leases logged later than ``at`` (another machine's clock is ahead) still count:
    a lagging clock never frees room early.
    """
    query = _WINDOW_LOCKED if conn.dialect.name == "postgresql" else _WINDOW
    saved = conn.execute(query, {"webhook_id": webhook_id}).scalar()
    if saved is None:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(
            insert(rate_windows).values(webhook_id=webhook_id, leases="[]").on_conflict_do_nothing()
        )
        saved = conn.execute(query, {"webhook_id": webhook_id}).scalar_one()
    return [(int(t), int(n)) for t, n in json.loads(saved) if t > at - WINDOW_MS]


def _give_back(conn: Connection, ids: Sequence[str], now: datetime) -> None:
    """Leases over the limit, as if never taken (a FIFO head gets a due time: it is
    then taken by the ordinary claim, its followers still waiting behind it)."""
    for chunk in chunks(ids):
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(chunk), deliveries.c.state == IN_FLIGHT)
            .values(
                state=PENDING,
                lease_owner=None,
                lease_expires_at=None,
                updated_at=now,
                next_attempt_at=func.coalesce(deliveries.c.next_attempt_at, now),
            )
        )


def _spread(conn: Connection, webhook_id: str, limit: int, resume: datetime) -> None:
    """The webhook's due backlog, oldest first, ``limit`` a window from ``resume`` on.

    On PostgreSQL rows another claim holds are skipped, not waited for: that claim
    holds them while it waits for this webhook's row, which this claim holds (a
    deadlock); it gives back what the limit refuses it, and spreads that, after us.
    """
    windows = max(1, min(HORIZON_WINDOWS, HORIZON_ROWS // limit))
    query = (
        select(deliveries.c.id)
        .where(
            deliveries.c.webhook_id == webhook_id,
            IS_PENDING,
            deliveries.c.next_attempt_at < resume,
        )
        .order_by(deliveries.c.next_attempt_at, deliveries.c.created_at, deliveries.c.id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(conn.execute(query).scalars())
    groups = [ids[j * limit : (j + 1) * limit] for j in range(windows)]
    groups.append(ids[windows * limit :])  # the rest after them, spread in their turn
    for j, group in enumerate(groups):
        for chunk in chunks(group):
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(chunk))
                .values(next_attempt_at=resume + j * WINDOW)
            )
