"""The demo seed: once, reused on later starts, re-seeded when its platform is gone."""

from __future__ import annotations

import json
from pathlib import Path

from hookline.services import platforms
from hookline.services.context import Context
from hookline.services.demo import ensure_demo


def test_seeded_once_with_both_zones(ctx: Context, tmp_path: Path) -> None:
    first = ensure_demo(ctx, tmp_path, None)
    again = ensure_demo(ctx, tmp_path, None)
    assert again == first
    overview = platforms.overview(ctx, first.platform_id)
    assert [z.valid for z in overview.zones] == [True, True]
    assert platforms.authenticate(ctx, first.api_token).platform_id == first.platform_id
    assert (tmp_path / "demo-credentials.json").stat().st_mode & 0o077 == 0


def test_an_explicit_operator_token_wins(ctx: Context, tmp_path: Path) -> None:
    assert ensure_demo(ctx, tmp_path, "hlo_mine").operator_token == "hlo_mine"


def test_stale_or_damaged_credentials_are_replaced(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "demo-credentials.json"
    path.write_text(json.dumps({"platform_id": "pf_gone", "api_token": "x", "operator_token": "y"}))
    fresh = ensure_demo(ctx, tmp_path, None)
    assert fresh.platform_id != "pf_gone"
    path.write_text("{not json")
    assert ensure_demo(ctx, tmp_path, None).platform_id != fresh.platform_id
