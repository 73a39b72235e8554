"""The input rules of domain.text, and the problem body that survives what they miss."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.api.errors import problem
from hookline.domain import text
from hookline.domain.text import (
    MAX_DATA_DEPTH,
    data_refusal,
    instant_refusal,
    storable,
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


def nested(depth: int, leaf: object) -> object:
    for _ in range(depth):
        leaf = {"k": [leaf]}
    return leaf


JSON_LIKE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and the infinities included
    | st.text(st.characters(codec=None)),  # lone surrogates included
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(codec=None), max_size=3), inner, max_size=4)
    ),
    max_leaves=30,
)


@given(JSON_LIKE)
def test_the_quick_walk_passes_exactly_what_the_thorough_one_passes(data: object) -> None:
    """The quick walk lets through no document the thorough walk finds fault with."""
    assert text._carriable(data) == (text._first_refusal(data) is None)


@pytest.mark.parametrize(
    "data",
    [
        nested(MAX_DATA_DEPTH // 2, 1),  # 64 containers deep: the deepest allowed
        nested(MAX_DATA_DEPTH // 2 + 1, 1),  # one level more: refused
        nested(40, "x"),
        {"ok": "中文", "bad": ["é", "\udc00"]},
        {"é\ud800": 1},
        [1, True, None, 2.5, -0.0, float("-inf")],
        float("nan"),
        "top \ud800",
        True,
    ],
)
def test_the_quick_walk_agrees_at_the_edges(data: object) -> None:
    assert text._carriable(data) == (text._first_refusal(data) is None)


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


def test_storable_text_keeps_everything_but_what_no_backend_can_store() -> None:
    kept = "tab\there 生日 \u202e \x7f"
    assert storable(kept) == kept
    assert storable("a\x00b\ud800c\udfff") == "a\ufffdb\ufffdc\ufffd"
    assert storable("a\x00b\ud800").encode("utf-8")  # a driver can now encode it
