"""Reading a Prometheus text page the way Prometheus would: with the client's parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(page: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the page: (name, labels) -> value."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(page):
        for s in family.samples:
            found[(s.name, frozenset(s.labels.items()))] = s.value
    return found


def value(page: str, name: str, **labels: str) -> float:
    """One sample's value; 0 when the page does not hold it (a counter not moved yet)."""
    return samples(page).get((name, frozenset(labels.items())), 0.0)
