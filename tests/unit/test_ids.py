"""Ids: the batch form writes what the one-at-a-time form would, in creation order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hookline.domain import ids


@given(st.lists(st.binary(min_size=10, max_size=10), max_size=20))
def test_the_batch_encoding_is_the_single_one(values: list[bytes]) -> None:
    expected = [ids._encode(int.from_bytes(v), 16) for v in values]
    assert ids._encode_80_bits(values) == expected


def test_a_batch_of_ids_is_unique_and_sorted_with_one_prefix() -> None:
    made = ids.new_ids("dlv", 2000)
    assert len(set(made)) == 2000 and made == sorted(made)
    assert all(i.startswith("dlv_") and len(i) == 4 + 26 for i in made)
    assert set("".join(i[4:] for i in made)) <= set(ids._ALPHABET)
    assert ids.new_ids("evt", 0) == []
