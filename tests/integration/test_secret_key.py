"""A changed or lost secret key, on both backends.

Before: reveal and test answered a bare 500, and a deleted key file was silently
replaced at start although the database held secrets sealed with the old key. Now a
process refuses to start with a key that does not open them, ``rotate-key`` re-seals
every value in one transaction, and the API names the problem.
"""

from __future__ import annotations

import stat
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from hookline.app import create_app
from hookline.bootstrap import build_context
from hookline.cli import app as cli
from hookline.config import Settings
from hookline.domain.models import CLI_ACTOR
from hookline.domain.secrets import SecretBox, SecretKeyMismatch
from hookline.services import keys, platforms, webhooks
from hookline.services.context import Context
from hookline.store import Database
from hookline.store.tables import audit_log, webhook_secrets
from tests.conftest import FakeClock

runner = CliRunner()
OLD_KEY = "test-secret-key"  # the ctx fixture's key
NEW_KEY = "a brand new key"


def seal_secrets(ctx: Context, clock: FakeClock) -> tuple[str, list[str]]:
    """A platform with two webhooks, one with an old secret still valid: three sealed values."""
    platform = platforms.create_platform(ctx, "Coffee").platform
    platforms.set_zone(ctx, platform.id, 1, clock.now + timedelta(days=30))
    ids = []
    for name in ("One", "Two"):
        hook = webhooks.create_webhook(
            ctx,
            platform.id,
            name=name,
            url="http://127.0.0.1:9/hook",
            topics=["prize.points_added"],
        )
        ids.append(hook.id)
    webhooks.rotate_secret(ctx, platform.id, ids[0], actor=CLI_ACTOR, expire_old_after_seconds=3600)
    return platform.id, ids


def ciphertexts(db: Database) -> dict[str, str]:
    with db.read() as conn:
        rows = conn.execute(select(webhook_secrets.c.id, webhook_secrets.c.ciphertext))
        return {row.id: row.ciphertext for row in rows}


def url_of(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def test_a_key_that_opens_nothing_stored_is_refused(ctx: Context, clock: FakeClock) -> None:
    seal_secrets(ctx, clock)
    keys.check_key(ctx.db, SecretBox(OLD_KEY), "the test key")
    with pytest.raises(keys.SecretKeyUnusable) as refused:
        keys.check_key(ctx.db, SecretBox(NEW_KEY), "HOOKLINE_SECRET_KEY")
    message = refused.value.message
    assert "do not open with HOOKLINE_SECRET_KEY" in message and "rotate-key" in message
    assert OLD_KEY not in message and NEW_KEY not in message


def test_an_empty_database_takes_any_key(db: Database) -> None:
    keys.check_key(db, SecretBox(NEW_KEY), "HOOKLINE_SECRET_KEY")
    assert not keys.has_sealed_values(db)


def test_start_refuses_a_changed_key(ctx: Context, clock: FakeClock, tmp_path: Path) -> None:
    seal_secrets(ctx, clock)
    same = Settings(data_dir=tmp_path, database_url=url_of(ctx.db), secret_key=OLD_KEY)
    build_context(same).db.dispose()
    changed = same.model_copy(update={"secret_key": SecretStr(NEW_KEY)})
    with pytest.raises(keys.SecretKeyUnusable):
        build_context(changed)


def test_a_deleted_key_file_is_not_replaced(ctx: Context, clock: FakeClock, tmp_path: Path) -> None:
    """The key file is the configuration (no HOOKLINE_SECRET_KEY) and it is gone."""
    seal_secrets(ctx, clock)
    settings = Settings(data_dir=tmp_path, database_url=url_of(ctx.db))
    with pytest.raises(keys.SecretKeyUnusable) as refused:
        build_context(settings)
    assert "is missing" in refused.value.message and "HOOKLINE_SECRET_KEY" in refused.value.message
    assert not settings.key_file.exists()


def test_a_new_install_still_gets_its_key_file(db: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=url_of(db))
    build_context(settings).db.dispose()
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600


def test_rotation_reseals_every_value_in_one_go(ctx: Context, clock: FakeClock) -> None:
    platform_id, ids = seal_secrets(ctx, clock)
    before = ciphertexts(ctx.db)
    assert len(before) == 3
    done = keys.rotate_key(ctx.db, SecretBox(OLD_KEY), SecretBox(NEW_KEY))
    assert (done.resealed, done.already_new) == (3, 0)
    after = ciphertexts(ctx.db)
    new, old = SecretBox(NEW_KEY), SecretBox(OLD_KEY)
    assert {k: new.decrypt(v) for k, v in after.items()} == {
        k: old.decrypt(v) for k, v in before.items()
    }
    with pytest.raises(SecretKeyMismatch):
        old.decrypt(next(iter(after.values())))
    rotated = replace(ctx, box=new)
    keys.check_key(ctx.db, new, "the new key")
    assert webhooks.reveal_secret(rotated, platform_id, ids[1], CLI_ACTOR)
    again = keys.rotate_key(ctx.db, SecretBox(OLD_KEY), SecretBox(NEW_KEY))
    assert (again.resealed, again.already_new) == (0, 3)  # safe to run twice


def test_rotation_with_a_wrong_old_key_changes_nothing(ctx: Context, clock: FakeClock) -> None:
    seal_secrets(ctx, clock)
    before = ciphertexts(ctx.db)
    with pytest.raises(keys.SecretKeyUnusable) as refused:
        keys.rotate_key(ctx.db, SecretBox("not the key"), SecretBox(NEW_KEY))
    assert "3 of 3" in refused.value.message
    assert ciphertexts(ctx.db) == before


def test_reveal_and_test_send_name_an_unreadable_secret(ctx: Context, clock: FakeClock) -> None:
    platform = platforms.create_platform(ctx, "Coffee")
    platforms.set_zone(ctx, platform.platform.id, 1, clock.now + timedelta(days=30))
    hook = webhooks.create_webhook(
        ctx,
        platform.platform.id,
        name="One",
        url="http://127.0.0.1:9/hook",
        topics=["prize.points_added"],
    )
    lost = replace(ctx, box=SecretBox(NEW_KEY))
    headers = {"Authorization": f"Bearer {platform.api_token}"}
    with TestClient(create_app(Settings(allow_http=True), lost)) as client:
        for method, path, body in (
            ("GET", f"/v1/webhooks/{hook.id}/secret", None),
            ("POST", f"/v1/webhooks/{hook.id}/test", {"topic": "prize.points_added"}),
        ):
            r = client.request(method, path, json=body, headers=headers)
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == "application/problem+json"
            problem = r.json()
            assert problem["code"] == "secret_unreadable"
            assert "rotate-key" in problem["detail"] and OLD_KEY not in problem["detail"]
    with ctx.db.read() as conn:  # nothing was revealed, so nothing is audited
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert "webhook.secret.reveal" not in actions


def test_the_commands_refuse_to_start_with_one_clear_paragraph(
    ctx: Context, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform_id, _ = seal_secrets(ctx, clock)
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOOKLINE_DATABASE_URL", url_of(ctx.db))
    monkeypatch.setenv("HOOKLINE_SECRET_KEY", NEW_KEY)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(
        "hookline.commands.serve.run_server", lambda *_a, **_k: pytest.fail("serve started")
    )
    monkeypatch.setattr(
        "hookline.commands.serve.start_delivery",
        lambda *_a, **_k: pytest.fail("worker processes started"),
    )
    for args in (["worker"], ["serve"], ["admin", "create-token", platform_id]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, (args, result.output)
        assert isinstance(result.exception, SystemExit)  # no traceback
        assert "secret_key_unusable" in result.output and "rotate-key" in result.output
        assert NEW_KEY not in result.output


def test_rotate_key_command_with_the_key_file(
    ctx: Context, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key file is the configuration: the old key comes from it, a new one replaces it."""
    platform_id, ids = seal_secrets(ctx, clock)
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOOKLINE_DATABASE_URL", url_of(ctx.db))
    monkeypatch.delenv("HOOKLINE_SECRET_KEY", raising=False)
    key_file = tmp_path / "secret.key"
    key_file.write_text(OLD_KEY + "\n")
    result = runner.invoke(cli, ["admin", "rotate-key"])
    assert result.exit_code == 0, result.output
    assert "re-sealed 3 secrets" in result.output
    new_key = key_file.read_text().strip()
    assert new_key != OLD_KEY and new_key not in result.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (tmp_path / "secret.key.new").exists()
    rotated = replace(ctx, box=SecretBox(new_key))
    assert webhooks.reveal_secret(rotated, platform_id, ids[0], CLI_ACTOR)
    assert runner.invoke(cli, ["admin", "create-token", platform_id]).exit_code == 0


def test_rotate_key_command_to_a_changed_environment_key(
    ctx: Context, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HOOKLINE_SECRET_KEY was changed: the old key, from a file, is re-sealed into it."""
    platform_id, _ = seal_secrets(ctx, clock)
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOOKLINE_DATABASE_URL", url_of(ctx.db))
    monkeypatch.setenv("HOOKLINE_SECRET_KEY", NEW_KEY)
    old_file = tmp_path / "old.key"
    old_file.write_text(OLD_KEY)
    wrong = tmp_path / "wrong.key"
    wrong.write_text("not the key")
    before = ciphertexts(ctx.db)
    result = runner.invoke(cli, ["admin", "rotate-key", "--old-key-file", str(wrong)])
    assert result.exit_code == 1 and "nothing was changed" in result.output
    assert ciphertexts(ctx.db) == before
    result = runner.invoke(cli, ["admin", "rotate-key", "--old-key-file", str(old_file)])
    assert result.exit_code == 0, result.output
    assert "re-sealed 3 secrets" in result.output
    assert OLD_KEY not in result.output and NEW_KEY not in result.output
    assert not (tmp_path / "secret.key").exists()  # the environment is the key
    assert runner.invoke(cli, ["admin", "create-token", platform_id]).exit_code == 0
