"""The input rules of domain.text, and the problem body that survives what they miss."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hookline.api.errors import problem
from hookline.domain.text import (
    MAX_DATA_DEPTH,
    data_refusal,
    instant_refusal,
    text_refusal,
    unicode_refusal,
)


@pytest.mark.parametrize("bad", ["\x00", "\t", "\n", "\x7f", "\x85", "\u202a", "\u2069", "\ud800"])
def test_identifiers_refuse_controls_overrides_and_surrogates(bad: str) -> None:
    assert text_refusal(f"ok{bad}ok") is not None


@pytest.mark.parametrize(
    "good", ["Demo Coffee", "冬季發票", "עברית", "emoji 🎉", "a\u200fb", "\u00a0"]
)
def test_identifiers_keep_every_printable_script(good: str) -> None:
    assert text_refusal(good) is None


def test_a_password_only_needs_to_be_well_formed() -> None:
    assert unicode_refusal("tab\tnul\x00") is None
    assert unicode_refusal("half \udfff") is not None


def test_data_refusals_name_the_path_without_recursing() -> None:
    assert data_refusal({"a": [1.5, "nul \x00", None, True]}) is None
    found = data_refusal({"a": [{"b": float("inf")}]})
    assert found is not None and found[0] == "$.a[0].b" and found[1].code == "not_finite"
    found = data_refusal({"k\ud800": 1})
    assert found is not None and found[1].code == "lone_surrogate"
    deep: object = 1
    for _ in range(100_000):  # far past the interpreter's recursion limit
        deep = [deep]
    found = data_refusal({"x": deep})
    assert found is not None and found[1].code == "too_deep"
    assert found[0].count("[0]") == MAX_DATA_DEPTH - 1


def test_instants_are_aware_and_within_1970_to_9998_in_utc() -> None:
    assert instant_refusal(datetime(1970, 1, 1, tzinfo=UTC)) is None
    assert instant_refusal(datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)) is None
    late = timezone(-timedelta(hours=23, minutes=59))
    assert instant_refusal(datetime(9999, 12, 31, 23, 59, 59, tzinfo=late)) is not None
    assert instant_refusal(datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)) is not None
    naive = instant_refusal(datetime(2026, 11, 29))
    assert naive is not None and naive.code == "naive_datetime"


def test_a_problem_quoting_a_lone_surrogate_still_renders_as_json() -> None:
    response = problem(422, "validation_error", "topic 'a\ud800' is not known.")
    assert json.loads(bytes(response.body))["detail"] == "topic 'a\ud800' is not known."
    same = bytes(problem(404, "not_found", "冬季 ok").body)
    assert same.decode("utf-8") == json.dumps(
        json.loads(same), ensure_ascii=False, separators=(",", ":")
    )
