"""Ids and zone validity."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from hookline.domain.ids import new_id
from hookline.domain.models import Platform, ZonePurchase


def test_ids_have_a_prefix_and_sort_by_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_000_000_000)
    first = new_id("wh")
    assert re.fullmatch(r"wh_[0-9a-hjkmnp-tv-z]{26}", first)
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_001_000_000)
    assert all(new_id("wh") > first for _ in range(100))
    monkeypatch.undo()
    assert len({new_id("wh") for _ in range(1000)}) == 1000


def test_zone_is_valid_strictly_before_its_end() -> None:
    end = datetime(2027, 1, 1, tzinfo=UTC)
    zone = ZonePurchase(zone=1, valid_until=end)
    assert zone.is_valid(end - timedelta(microseconds=1))
    assert not zone.is_valid(end)


def test_platform_finds_its_zone() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    p = Platform("pf_1", "x", "Asia/Taipei", 3, now, now, (ZonePurchase(2, now),))
    assert p.zone(2) == ZonePurchase(2, now)
    assert p.zone(1) is None
