"""Prometheus metrics: what the processes count, and where the counts are kept.

Nothing here imports ``prometheus_client`` at import time. The client picks its value
store (in memory, or the shared files of multiprocess mode) when it is first imported,
from ``PROMETHEUS_MULTIPROC_DIR``; ``serve`` and ``worker`` set that variable
(``multiproc.use_shared_dir``) before anything counts, so the instruments are built on
first use (``instruments.get``), never at import.

Counting is cheap and never fails the caller: the worker counts a whole settled batch
at once, after the database round that wrote it.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from hookline.domain.deliveries import DeliveryState, ErrorClass, Settlement

log = logging.getLogger(__name__)

OUTCOME_OF_STATE = {
    DeliveryState.DELIVERED: "delivered",
    DeliveryState.PENDING: "retry",
    DeliveryState.FAILED: "failed",
    DeliveryState.CANCELLED: "cancelled",
}
ERROR_CLASSES = frozenset(e.value for e in ErrorClass)


class _Complaints:
    """Log a counting failure once per streak: a metrics directory on a full disk must
    not fill the log with one traceback per batch, nor go unnoticed."""

    failing = False

    @classmethod
    def failed(cls, what: str) -> None:
        if not cls.failing:
            log.exception("could not count %s; counting goes on, this is logged once", what)
        cls.failing = True

    @classmethod
    def counted(cls) -> None:
        if cls.failing:
            log.info("counting works again")
        cls.failing = False


def _error_label(error: str | None) -> str:
    """A closed set of label values: an error class, ``none``, or ``other``."""
    if error is None:
        return "none"
    return error if error in ERROR_CLASSES else "other"


def record_settled(batch: Sequence[Settlement]) -> None:
    """Count one written batch: outcomes (one ``inc`` per distinct pair) and latencies."""
    if not batch:
        return
    try:
        from hookline.metrics import instruments

        found = instruments.get()
        outcomes = Counter(
            (OUTCOME_OF_STATE.get(s.state, "other"), _error_label(s.attempt.error)) for s in batch
        )
        for (outcome, error), count in outcomes.items():
            found.settled.labels(outcome, error).inc(count)
        observe_many(found.attempt_seconds, [s.attempt.latency_ms / 1000 for s in batch])
    except Exception:  # a metric must never stop a delivery: log, keep going
        _Complaints.failed(f"{len(batch)} settled deliveries")
    else:
        _Complaints.counted()


def observe_many(histogram: Any, amounts: Sequence[float]) -> None:
    """``histogram.observe`` for a batch: one add per bucket used and one to the sum.

    In multiprocess mode every add is a locked write to a shared file (about 2.5 us),
    and ``observe`` makes two per value. This reaches into the client's histogram
    (``_upper_bounds``, ``_buckets``, ``_sum``, stable since 0.4); a client without them
    gets plain ``observe`` calls. tests/unit/test_metrics.py checks the buckets.
    """
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None:
        for amount in amounts:
            histogram.observe(amount)
        return
    per_bucket = Counter(bisect_left(bounds, amount) for amount in amounts)
    for index, count in per_bucket.items():
        buckets[index].inc(count)
    total.inc(sum(amounts))


def record_reclaimed(count: int) -> None:
    if count <= 0:
        return
    try:
        from hookline.metrics import instruments

        instruments.get().reclaimed.inc(count)
    except Exception:
        _Complaints.failed(f"{count} reclaimed leases")
    else:
        _Complaints.counted()


def record_ingested(topics: Iterable[tuple[str, str]], deliveries: int) -> None:
    """``topics``: (topic, outcome) per item, outcome ``accepted``, ``duplicate`` or
    ``refused``. A topic outside the catalog is counted as ``other`` (bounded labels)."""
    try:
        from hookline.metrics import instruments

        found = instruments.get()
        for (topic, outcome), count in Counter(topics).items():
            label = topic if topic in found.known_topics else "other"
            found.events.labels(label, outcome).inc(count)
        if deliveries:
            found.deliveries_created.inc(deliveries)
    except Exception:  # the events are stored: a count must not turn that into an error
        _Complaints.failed("ingested events")
    else:
        _Complaints.counted()
