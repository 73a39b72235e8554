"""The delivery controls' pure rules: filter matching, header names, the Retry-After pause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hookline.domain import controls
from hookline.domain.deliveries import AttemptResult, ErrorClass
from hookline.domain.settlement import pause_until

NOW = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("flt", "data", "expected"),
    [
        (None, {"status": "x"}, True),
        ({"data.status": ("a", "b")}, {"status": "b"}, True),
        ({"data.status": ("a",)}, {"status": "c"}, False),
        ({"data.status": ("a",)}, {}, False),  # a missing field matches nothing
        ({"data.n": (1,)}, {"n": 1.0}, True),  # JSON numbers: 1 is 1.0
        ({"data.n": (1,)}, {"n": True}, False),  # but true is not 1
        ({"data.n": (True,)}, {"n": 1}, False),
        ({"data.n": (None,)}, {"n": None}, True),
        ({"data.n": (None,)}, {}, False),
        ({"data.n": (0,)}, {"n": None}, False),
        ({"data.a.b": ("x",)}, {"a": {"b": "x"}}, True),
        ({"data.a.b": ("x",)}, {"a": "x"}, False),
        ({"data.s": ("sms",), "data.t": ("ok",)}, {"s": "sms", "t": "no"}, False),
        ({"data.s": ("sms",), "data.t": ("ok",)}, {"s": "sms", "t": "ok"}, True),
    ],
)
def test_a_filter_passes_when_every_field_equals_one_of_its_values(
    flt: controls.Filter | None, data: dict[str, object], expected: bool
) -> None:
    assert controls.passes(flt, data) is expected


def test_header_names_ignore_case_when_reserved_or_repeated() -> None:
    found = controls.header_refusals({"CONTENT-length": "1", "X-a": "1", "x-A": "2"})
    assert [code for _, code, _ in found] == ["reserved_header", "duplicate_header"]
    assert controls.header_refusals({"X-Api-Key": "k", "Authorization": "Bearer t"}) == []


@pytest.mark.parametrize(
    ("status", "retry_after", "seconds"),
    [
        (429, 30.0, 30),
        (503, 10_000.0, 3600),
        (500, 30.0, None),
        (429, None, None),
        (429, 0.0, None),
    ],
)
def test_a_retry_after_on_429_or_503_pauses_the_webhook_up_to_an_hour(
    status: int, retry_after: float | None, seconds: int | None
) -> None:
    result = AttemptResult(status, 1.0, "", ErrorClass.HTTP_STATUS, None, retry_after)
    expected = None if seconds is None else NOW + timedelta(seconds=seconds)
    assert pause_until(result, NOW) == expected
