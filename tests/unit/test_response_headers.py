"""What an attempt keeps of the answer's headers: bounded, sanitized, credentials removed."""

from __future__ import annotations

from hookline.domain.response_headers import MAX_HEADERS, MAX_VALUE, REMOVED, capture, parse


def test_pairs_round_trip_in_order_with_repeats() -> None:
    pairs = [("Content-Type", "text/plain"), ("Via", "a"), ("Via", "b")]
    assert parse(capture(pairs)) == pairs


def test_cookies_and_credentials_are_removed_whatever_their_case() -> None:
    kept = parse(
        capture([("set-cookie", "s=1"), ("Authorization", "Bearer x"), ("X-Api-Key", "k")])
    )
    assert [value for _, value in kept] == [REMOVED] * 3


def test_hostile_values_are_neutralised() -> None:
    nasty = "a\x00b\ud800c\u202ed\x1b"
    ((name, value),) = parse(capture([("X-\x00Bad", nasty)]))
    assert value == "a\ufffdb\ufffdc\ufffdd\ufffd" and name == "X-\ufffdBad"
    assert capture([("X", nasty)]).encode("utf-8")  # storable: no lone surrogate left


def test_a_flood_of_headers_is_bounded() -> None:
    kept = parse(capture([(f"X-{i}", "v" * 10_000) for i in range(1000)]))
    assert len(kept) == MAX_HEADERS + 1 and kept[-1][0] == "…"
    assert all(len(value) <= MAX_VALUE for _, value in kept)


def test_nothing_and_garbage_read_as_no_headers() -> None:
    assert capture([]) == "" and parse("") == [] and parse("not json") == []
    assert parse('[["a", "b"], 3, ["c"]]') == [("a", "b")]
