"""The plain-language verdict follows the worker's retry rule; the chart scales bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hookline.domain.deliveries import AttemptResult, ErrorClass
from hookline.services.reports import HourBucket
from hookline.web import chart
from hookline.web.i18n import Translator
from hookline.web.verdict import explain


def result(status: int | None, error: ErrorClass | None = None) -> AttemptResult:
    return AttemptResult(
        status_code=status,
        latency_ms=3.0,
        response_body="",
        error=error if error else (ErrorClass.HTTP_STATUS if status and status >= 300 else None),
        error_detail=None,
        retry_after=None,
    )


@pytest.mark.parametrize(
    ("status", "error", "key", "tone"),
    [
        (200, None, "verdict.delivered", "ok"),
        (204, None, "verdict.delivered", "ok"),
        (500, None, "verdict.retried", "warn"),
        (503, None, "verdict.retried", "warn"),
        (429, None, "verdict.retried", "warn"),
        (408, None, "verdict.retried", "warn"),
        (400, None, "verdict.not_retried", "bad"),
        (404, None, "verdict.not_retried", "bad"),
        (401, None, "verdict.refused", "bad"),
        (403, None, "verdict.refused", "bad"),
        (410, None, "verdict.gone", "bad"),
        (301, None, "verdict.redirect", "bad"),
        (None, ErrorClass.TIMEOUT, "verdict.timeout", "warn"),
        (None, ErrorClass.CONNECT_ERROR, "verdict.connect_error", "warn"),
        (None, ErrorClass.DNS_ERROR, "verdict.dns_error", "warn"),
        (None, ErrorClass.BLOCKED_ADDRESS, "verdict.blocked_address", "bad"),
        (None, ErrorClass.SECRET_UNREADABLE, "verdict.secret_unreadable", "bad"),
        (None, ErrorClass.OUTCOME_UNKNOWN, "verdict.outcome_unknown", "warn"),
    ],
)
def test_verdicts(status: int | None, error: ErrorClass | None, key: str, tone: str) -> None:
    explained = explain(result(status, error))
    assert (explained.key, explained.tone) == (key, tone)
    for lang in ("en", "zh-TW"):  # every verdict reads in both languages
        text = Translator(lang)(explained.key, **explained.params)
        if status is not None:
            assert str(status) in text


def test_the_500_verdict_says_what_a_marketer_needs() -> None:
    explained = explain(result(500))
    assert Translator("en")(explained.key, **explained.params).startswith(
        "Your server answered 500: MAAC-compatible senders retry this"
    )


def test_chart_stacks_and_scales_to_the_busiest_hour() -> None:
    start = datetime(2026, 11, 28, tzinfo=UTC)
    buckets = [HourBucket(start + timedelta(hours=i), 0, 0) for i in range(24)]
    buckets[3] = HourBucket(buckets[3].start, delivered=6, failed=2)
    buckets[10] = HourBucket(buckets[10].start, delivered=0, failed=4)
    drawn = chart.build(buckets)
    assert (drawn.peak, drawn.delivered, drawn.failed) == (8, 6, 6)
    busiest = drawn.bars[3]
    assert busiest.delivered_height + busiest.failed_height == pytest.approx(chart.HEIGHT)
    assert busiest.failed_y == pytest.approx(0)
    assert drawn.bars[10].failed_height == pytest.approx(chart.HEIGHT / 2)
    assert drawn.bars[0].delivered_height == 0 and drawn.bars[0].failed_height == 0
    assert all(b.x < n.x for b, n in zip(drawn.bars, drawn.bars[1:], strict=False))


def test_an_empty_chart_draws_nothing() -> None:
    start = datetime(2026, 11, 28, tzinfo=UTC)
    drawn = chart.build([HourBucket(start + timedelta(hours=i), 0, 0) for i in range(24)])
    assert drawn.peak == 0 and all(b.delivered_height == b.failed_height == 0 for b in drawn.bars)
