"""The instruments, built once on first use (see the package docstring for why)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from prometheus_client import Counter, Histogram

from hookline.catalog import TOPICS

ATTEMPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
"""Seconds; the top buckets bracket HOOKLINE_SEND_TIMEOUT's default (15 s)."""


@dataclass(frozen=True)
class Instruments:
    events: Counter
    deliveries_created: Counter
    settled: Counter
    attempt_seconds: Histogram
    reclaimed: Counter
    known_topics: frozenset[str]


@cache
def get() -> Instruments:
    return Instruments(
        events=Counter(
            "hookline_ingested_events",
            "Events received by the ingest API, by topic and outcome"
            " (accepted, duplicate, refused).",
            ["topic", "outcome"],
        ),
        deliveries_created=Counter(
            "hookline_ingested_deliveries", "Deliveries created by accepted events."
        ),
        settled=Counter(
            "hookline_deliveries_settled",
            "Worker attempts written back, by outcome (delivered, retry, failed) and error"
            " class (none when the receiver answered 2xx).",
            ["outcome", "error"],
        ),
        attempt_seconds=Histogram(
            "hookline_attempt_duration_seconds",
            "Duration of each worker attempt, from connecting to the receiver's answer.",
            buckets=ATTEMPT_BUCKETS,
        ),
        reclaimed=Counter(
            "hookline_leases_reclaimed",
            "Deliveries taken back from a worker that died or overran its lease"
            " (recorded as outcome_unknown and sent again).",
        ),
        known_topics=frozenset(TOPICS),
    )
