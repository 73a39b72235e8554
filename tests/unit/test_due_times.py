"""The worker's knowledge of the next due time (``dispatch.due.DueTimes``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hookline.dispatch.due import DueTimes

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_rounds_read_is_fresh_until_the_next_claim() -> None:
    due = DueTimes(poll_interval=3600.0)
    assert due.needs_read(sending=False)  # nothing known yet
    due.claimed(T0)
    due.read(T0 + timedelta(seconds=5), by_round=True)
    assert not due.needs_read(sending=False)  # idle, yet the round just read it
    assert not due.needs_read(sending=False)  # still fresh: no claim since
    assert due.known() == T0 + timedelta(seconds=5)
    due.claimed(T0 + timedelta(seconds=1))
    assert due.needs_read(sending=False)  # a claim since: idle workers read again


def test_a_read_of_its_own_does_not_spare_an_idle_worker_the_next() -> None:
    due = DueTimes(poll_interval=3600.0)
    due.read(T0, by_round=False)
    assert due.needs_read(sending=False)  # idle: always reads before it waits
    assert not due.needs_read(sending=True)  # sending: once per poll interval
    assert due.must_read(sending=False)  # and a round may peek for it
