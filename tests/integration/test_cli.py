"""Operator commands against a real SQLite file in a temporary data dir."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hookline.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HOOKLINE_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def test_migrate_reports_the_revision() -> None:
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    versions = Path(__file__).parents[2] / "hookline/store/migrations/versions"
    newest = max(p.name.split("_")[0] for p in versions.glob("[0-9]*_*.py"))
    assert f"revision {newest} " in result.output


def test_admin_commands() -> None:
    result = runner.invoke(
        app, ["admin", "create-platform", "--name", "Tea", "--webhook-limit", "5"]
    )
    assert result.exit_code == 0, result.output
    platform_id = re.search(r"(pf_[0-9a-z]+)", result.output)
    token = re.search(r"(hlp_[\w-]+)", result.output)
    assert platform_id and token
    pid = platform_id.group(1)
    result = runner.invoke(app, ["admin", "grant-zone", pid, "2", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "zone 2" in result.output
    result = runner.invoke(app, ["admin", "set-limit", pid, "7"])
    assert result.exit_code == 0 and "7" in result.output
    result = runner.invoke(app, ["admin", "create-token", pid])
    assert result.exit_code == 0 and "hlp_" in result.output


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["admin", "grant-zone", "pf_nope", "1"], "platform_not_found"),
        (["admin", "set-limit", "pf_nope", "3"], "platform_not_found"),
        (
            ["admin", "create-platform", "--name", "x", "--timezone", "Nowhere/Land"],
            "validation_error",
        ),
    ],
)
def test_admin_errors_are_one_clear_line(args: list[str], code: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert code in result.output
    assert "Traceback" not in result.output


def test_admin_create_user() -> None:
    result = runner.invoke(app, ["admin", "create-platform", "--name", "Tea"])
    platform_id = re.search(r"(pf_[0-9a-z]+)", result.output)
    assert platform_id, result.output
    pid = platform_id.group(1)
    args = ["admin", "create-user", "--email", "Ann@Example.com", "--platform", pid]
    result = runner.invoke(app, [*args, "--password", "correct horse battery"])
    assert result.exit_code == 0, result.output
    assert re.search(r"usr_[0-9a-z]+", result.output)
    assert "ann@example.com" in result.output and "member" in result.output
    assert pid in result.output and "correct horse" not in result.output
    # operators: no platform, and the password is asked for (twice) when not given
    result = runner.invoke(
        app,
        ["admin", "create-user", "--email", "ops@example.com", "--role", "operator"],
        input="another long secret\nanother long secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "operator" in result.output and "another long secret" not in result.output
    result = runner.invoke(app, [*args, "--password", "correct horse battery"])
    assert result.exit_code == 1 and "email_taken" in result.output


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--email", "a@example.com", "--password", "short", "--role", "operator"], "password"),
        (["--email", "a@example.com", "--password", "long enough!"], "platform_id"),
        (["--email", "a@example.com", "--password", "long enough!", "--role", "x"], "role"),
        (
            ["--email", "a@example.com", "--password", "long enough!", "--platform", "pf_no"],
            "platform_not_found",
        ),
    ],
)
def test_admin_create_user_errors(args: list[str], code: str) -> None:
    result = runner.invoke(app, ["admin", "create-user", *args])
    assert result.exit_code == 1, result.output
    assert code in result.output and "Traceback" not in result.output
