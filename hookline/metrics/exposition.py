"""The ``/metrics`` page: the counters of every process, and gauges read at scrape time.

Queue depth, the oldest due delivery and the failing webhooks are read from the
database when Prometheus asks (``QueueReading``), not kept by the worker: they are the
same whichever process answers, and cost the worker nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from hookline.metrics import instruments
from hookline.metrics.multiproc import ENV

CONTENT_TYPE = CONTENT_TYPE_LATEST


class QueueReading(Protocol):
    """What one scrape read from the database (``services.monitoring.read_queue``)."""

    @property
    def by_state(self) -> Mapping[str, int]: ...  # pending and in flight
    @property
    def due(self) -> int: ...  # pending and already due (claimable, or held by a cap)
    @property
    def oldest_due_age(self) -> float: ...  # seconds; 0 when nothing is due
    @property
    def failing_webhooks(self) -> Mapping[str, float]: ...  # the longest-failing few
    @property
    def failing_total(self) -> int: ...
    @property
    def workers_alive(self) -> int: ...


class _ScrapeGauges(Collector):
    def __init__(self, reading: QueueReading | None, *, writes_failing: bool | None) -> None:
        self.reading = reading
        self.writes_failing = writes_failing

    def collect(self) -> Iterator[Metric]:
        if self.writes_failing is not None:
            yield GaugeMetricFamily(
                "hookline_writes_failing",
                "1 while this API process's last database write failed (as /readyz).",
                value=1 if self.writes_failing else 0,
            )
        r = self.reading
        if r is None:  # the database could not be read: these gauges go missing
            return
        depth = GaugeMetricFamily(
            "hookline_queue_deliveries", "Deliveries not settled yet, by state.", labels=["state"]
        )
        for state in ("pending", "in_flight"):
            depth.add_metric([state], r.by_state.get(state, 0))
        yield depth
        yield GaugeMetricFamily(
            "hookline_queue_due_deliveries", "Pending deliveries already due.", value=r.due
        )
        yield GaugeMetricFamily(
            "hookline_queue_oldest_due_age_seconds",
            "How long the oldest due delivery has waited since it became due (0: none).",
            value=r.oldest_due_age,
        )
        failing = GaugeMetricFamily(
            "hookline_webhook_failing_seconds",
            "Working webhooks whose every attempt has failed, and for how long"
            " (the longest-failing few; see hookline_webhooks_failing for all).",
            labels=["webhook_id"],
        )
        for webhook_id, seconds in r.failing_webhooks.items():
            failing.add_metric([webhook_id], seconds)
        yield failing
        yield GaugeMetricFamily(
            "hookline_webhooks_failing",
            "Working webhooks in a failing period.",
            value=r.failing_total,
        )
        yield GaugeMetricFamily(
            "hookline_workers_alive", "Workers that sent a heartbeat lately.", value=r.workers_alive
        )


def render(reading: QueueReading | None, *, writes_failing: bool | None = False) -> bytes:
    """Every process's counters (multiprocess mode) or this one's, plus the gauges.

    ``reading`` is ``None`` when the database could not be read: the counters are
    still served, and the missing gauges are what an alert notices. ``writes_failing``
    is ``None`` where no API process answers (a worker's page).
    """
    instruments.get()  # so a process that counted nothing yet still shows every name
    registry = CollectorRegistry()
    if os.environ.get(ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Single())
    registry.register(_ScrapeGauges(reading, writes_failing=writes_failing))
    return generate_latest(registry)


class _Single(Collector):
    """This process's own instruments (no multiprocess directory: tests, embedded use)."""

    def collect(self) -> Iterator[Metric]:
        found = instruments.get()
        for instrument in (
            found.events,
            found.deliveries_created,
            found.settled,
            found.attempt_seconds,
            found.reclaimed,
        ):
            yield from instrument.collect()


__all__ = ["CONTENT_TYPE", "QueueReading", "render"]
