# The only text put into SQL below is this module's own phase prefixes ("tp-", "lat-").
# ruff: noqa: S608
"""What the database says happened: read-only queries after (or during) a phase.

Events of each phase are told apart by their producer id prefix (``tp-`` for the
throughput burst, ``lat-`` for the steady-rate phase). All times are hookline's own
UTC timestamps: ``events.received_at`` is stamped at ingest, ``attempts.started_at``
just before the attempt is signed and sent, ``deliveries.completed_at`` when its result
is written.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def _ts(value: Any) -> datetime:
    """A datetime from either backend: SQLite gives naive UTC text, psycopg aware values."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime), value
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def received_span(conn: Any, prefix: str) -> tuple[int, datetime | None, datetime | None]:
    """How many events of the phase there are, and the first and last ``received_at``."""
    count, first, last = conn.execute(
        "SELECT count(*), min(received_at), max(received_at) FROM events"
        f" WHERE producer_id LIKE '{prefix}%'"
    ).fetchone()
    if first is None:
        return int(count), None, None
    return int(count), _ts(first), _ts(last)


def state_counts(conn: Any, prefix: str) -> dict[str, int]:
    rows = conn.execute(
        "SELECT d.state, count(*) FROM deliveries d JOIN events e ON e.id = d.event_id"
        f" WHERE e.producer_id LIKE '{prefix}%' GROUP BY d.state"
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def unfinished(conn: Any) -> int:
    """Deliveries still waiting for their first attempt or with one in flight."""
    row = conn.execute(
        "SELECT count(*) FROM deliveries"
        " WHERE state = 'in_flight' OR (state = 'pending' AND attempts = 0)"
    ).fetchone()
    return int(row[0])


@dataclass(frozen=True)
class Throughput:
    events: int
    deliveries: int
    delivered: int
    states: dict[str, int]
    attempts: int
    first_received: datetime | None
    last_completed: datetime | None
    steady_rate: float  # deliveries/s between the 10th and 90th percentile of completion

    @property
    def end_to_end_seconds(self) -> float:
        if self.first_received is None or self.last_completed is None:
            return 0.0
        return (self.last_completed - self.first_received).total_seconds()

    @property
    def end_to_end_rate(self) -> float:
        seconds = self.end_to_end_seconds
        return self.delivered / seconds if seconds > 0 else 0.0


def throughput(conn: Any, prefix: str = "tp-") -> Throughput:
    events, first_received, _ = received_span(conn, prefix)
    completed = [
        _ts(r[0])
        for r in conn.execute(
            "SELECT d.completed_at FROM deliveries d JOIN events e ON e.id = d.event_id"
            f" WHERE e.producer_id LIKE '{prefix}%' AND d.state = 'delivered'"
        ).fetchall()
    ]
    completed.sort()
    attempts = conn.execute(
        "SELECT count(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id"
        f" JOIN events e ON e.id = d.event_id WHERE e.producer_id LIKE '{prefix}%'"
    ).fetchone()
    states = state_counts(conn, prefix)
    steady = 0.0
    if len(completed) >= 20:
        lo = completed[len(completed) // 10]
        hi = completed[(len(completed) * 9) // 10]
        span = (hi - lo).total_seconds()
        if span > 0:
            steady = ((len(completed) * 9) // 10 - len(completed) // 10) / span
    return Throughput(
        events=events,
        deliveries=sum(states.values()),
        delivered=len(completed),
        states=states,
        attempts=int(attempts[0]),
        first_received=first_received,
        last_completed=completed[-1] if completed else None,
        steady_rate=steady,
    )


@dataclass(frozen=True)
class Latency:
    events: int
    deliveries: int
    never_attempted: int
    ingest_rate: float  # events/s actually received during the phase
    first_attempt_ms: list[float]  # ingest -> first attempt started, per delivery
    completed_ms: list[float]  # ingest -> delivered (result written), per delivery
    delivery_rate: float  # delivered / (last completed - first received)
    first_by_second: list[list[float]] = field(default_factory=list)
    """``first_attempt_ms`` by the second of the phase its event was ingested in."""

    def first(self, q: float) -> float | None:
        return percentile(self.first_attempt_ms, q) if self.first_attempt_ms else None

    def seconds_p99(self) -> list[float]:
        """Each whole second's p99: a backlog that builds and drains shows as a run of
        bad seconds, a steady tail as the same figure in every second."""
        return [percentile(ms, 99) for ms in self.first_by_second if ms]

    def done(self, q: float) -> float | None:
        return percentile(self.completed_ms, q) if self.completed_ms else None


def latency(conn: Any, prefix: str = "lat-") -> Latency:
    rows = conn.execute(
        "SELECT e.received_at, min(a.started_at), d.completed_at, d.state"
        " FROM deliveries d JOIN events e ON e.id = d.event_id"
        " LEFT JOIN attempts a ON a.delivery_id = d.id"
        f" WHERE e.producer_id LIKE '{prefix}%'"
        " GROUP BY d.id, e.received_at, d.completed_at, d.state"
    ).fetchall()
    events, first_received, last_received = received_span(conn, prefix)
    first: list[float] = []
    done: list[float] = []
    never = 0
    last_done: datetime | None = None
    by_second: dict[int, list[float]] = defaultdict(list)
    for received, started, completed, state in rows:
        r = _ts(received)
        if started is None:
            never += 1
            continue
        first.append((_ts(started) - r).total_seconds() * 1000)
        if first_received is not None:
            by_second[int((r - first_received).total_seconds())].append(first[-1])
        if completed is not None and state == "delivered":
            c = _ts(completed)
            done.append((c - r).total_seconds() * 1000)
            last_done = c if last_done is None else max(last_done, c)
    rate = delivery_rate = 0.0
    if events > 1 and first_received is not None and last_received is not None:
        span = (last_received - first_received).total_seconds()
        rate = (events - 1) / span if span > 0 else 0.0
    if last_done is not None and first_received is not None:
        span = (last_done - first_received).total_seconds()
        delivery_rate = len(done) / span if span > 0 else 0.0
    return Latency(
        events=events,
        deliveries=len(rows),
        never_attempted=never,
        ingest_rate=rate,
        first_attempt_ms=first,
        completed_ms=done,
        delivery_rate=delivery_rate,
        first_by_second=[by_second[k] for k in sorted(by_second)],
    )
