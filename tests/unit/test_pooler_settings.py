"""Behind a transaction pooler: no server-side prepared statements, and no LISTEN on it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import event

from hookline.bootstrap import open_database, wake_listener
from hookline.config import Settings
from hookline.dispatch.wakeup import poll_only

PG = "postgresql+psycopg://hookline@pgbouncer.internal:6432/hookline"
DIRECT = "postgresql+psycopg://hookline@db.internal:5432/hookline"


class Refused(Exception):
    """Raised instead of connecting: the test only reads what would have been sent."""


def connect_params(settings: Settings) -> dict[str, Any]:
    """The keyword arguments psycopg.connect would get, without opening a socket."""
    db = open_database(settings)
    seen: dict[str, Any] = {}

    @event.listens_for(db.engine, "do_connect")
    def _capture(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        seen.update(cparams)
        raise Refused

    with pytest.raises(Refused):
        db.engine.connect()
    db.dispose()
    return seen


def test_a_transaction_pooler_gets_no_prepared_statements() -> None:
    pooled = connect_params(Settings(database_url=PG, database_pooler="transaction"))
    assert "prepare_threshold" in pooled and pooled["prepare_threshold"] is None
    direct = connect_params(Settings(database_url=DIRECT))
    assert "prepare_threshold" not in direct  # psycopg's default: prepare hot statements


def test_pooler_settings_name_postgresql_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKLINE_DATABASE_URL", raising=False)
    with pytest.raises(ValidationError, match="only apply to PostgreSQL"):
        Settings(database_pooler="transaction")
    with pytest.raises(ValidationError, match="only apply to PostgreSQL"):
        Settings(database_url=PG, listen_database_url="sqlite:///var/hookline.db")
    with pytest.raises(ValidationError):
        Settings(database_url=PG, database_pooler="session")


def test_without_a_pooler_workers_listen_on_the_database_itself() -> None:
    assert wake_listener(Settings(database_url=DIRECT)) is None


def test_a_listen_url_is_used_pooler_or_not(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(database_url=PG, database_pooler="transaction", listen_database_url=DIRECT)
    listen = wake_listener(settings)
    assert listen is not None and listen is not poll_only
    assert "polling" not in caplog.text


def test_behind_a_pooler_without_a_listen_url_workers_poll_and_say_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(database_url=PG, database_pooler="transaction", poll_interval=0.5)
    assert wake_listener(settings) is poll_only
    assert "HOOKLINE_LISTEN_DATABASE_URL" in caplog.text
    assert "polling every 0.5 s" in caplog.text


async def test_polling_only_wakes_nobody_and_ends_with_the_worker() -> None:
    woken: list[int] = []
    stop = asyncio.Event()
    task = asyncio.create_task(poll_only(lambda: woken.append(1), stop))
    await asyncio.sleep(0)
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert woken == []


def test_the_pgbouncer_section_names_real_settings() -> None:
    from pathlib import Path

    text = Path(__file__).parents[2].joinpath("docs", "operating.md").read_text("utf-8")
    section = text.split("## Several machines and PgBouncer", 1)[1]
    named = set(re.findall(r"HOOKLINE_([A-Z_]+)", section))
    assert {"DATABASE_POOLER", "LISTEN_DATABASE_URL"} <= named
    assert {name.lower() for name in named} <= set(Settings.model_fields)
