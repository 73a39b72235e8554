"""The demo seed: once, reused on later starts, re-seeded when its platform is gone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from hookline.domain.models import Role
from hookline.services import platforms, users
from hookline.services.context import Context
from hookline.services.demo import DEMO_MEMBER_EMAIL, DEMO_OPERATOR_EMAIL, ensure_demo


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def test_seeded_once_with_every_zone(ctx: Context, tmp_path: Path) -> None:
    first = ensure_demo(ctx, tmp_path, None)
    again = ensure_demo(ctx, tmp_path, None)
    assert again == first
    overview = platforms.overview(ctx, first.platform_id)
    assert [z.valid for z in overview.zones] == [True, True, True]
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


def test_demo_logins_work_and_are_saved(ctx: Context, tmp_path: Path) -> None:
    creds = ensure_demo(ctx, tmp_path, None)
    assert (creds.member_email, creds.operator_email) == (DEMO_MEMBER_EMAIL, DEMO_OPERATOR_EMAIL)
    assert len(creds.member_password) >= 10 and creds.member_password != creds.operator_password
    demo = users.login(ctx, creds.member_email, creds.member_password).user
    assert (demo.role, demo.platform_id) == (Role.MEMBER, creds.platform_id)
    op = users.login(ctx, creds.operator_email, creds.operator_password).user
    assert op.is_operator and op.platform_id is None
    saved = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert saved["member_password"] == creds.member_password
    assert saved["operator_password"] == creds.operator_password
    assert ensure_demo(ctx, tmp_path, None) == creds


def test_a_file_from_before_logins_gains_them(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "demo-credentials.json"
    first = ensure_demo(ctx, tmp_path, None)
    old = json.loads(path.read_text())
    for key in ("member_email", "member_password", "operator_email", "operator_password"):
        del old[key]
    path.write_text(json.dumps(old))
    again = ensure_demo(ctx, tmp_path, None)
    assert again.platform_id == first.platform_id and again.api_token == first.api_token
    assert again.member_password != first.member_password
    assert users.login(ctx, again.member_email, again.member_password).user.email == (
        DEMO_MEMBER_EMAIL
    )
    assert json.loads(path.read_text())["member_password"] == again.member_password


def test_a_lost_file_reseeds_logins_that_work(ctx: Context, tmp_path: Path) -> None:
    first = ensure_demo(ctx, tmp_path, None)
    (tmp_path / "demo-credentials.json").unlink()
    fresh = ensure_demo(ctx, tmp_path, None)
    assert fresh.platform_id != first.platform_id
    demo = users.login(ctx, fresh.member_email, fresh.member_password).user
    assert demo.platform_id == fresh.platform_id
    assert users.login(ctx, fresh.operator_email, fresh.operator_password).user.is_operator
    assert [u.email for u in users.list_users(ctx, None)] == [DEMO_OPERATOR_EMAIL]
