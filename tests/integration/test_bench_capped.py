"""``bench.capped`` and the backlog scenario's churn run on both backends: a benchmark
that crashes measures nothing. Tiny numbers: what is checked is that each backlog's
line comes out with every one of B's deliveries leased (the bench itself stops if one
of A's is), and that a churn delivers all it was given.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bench import capped
from bench.scenarios import backlog
from bench.scenarios import backlog_rows as rows
from hookline.store import Database
from hookline.store.tables import deliveries
from tests.conftest import postgres_database

LINE = r"backlog +([\d,]+): round median +[\d.]+ ms, p90 +[\d.]+ ms; leased (\d+) a round"


def run(url: str, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    capped.measure(url, [0, 300], calls=3, per_round=8)
    return re.findall(LINE, capsys.readouterr().out)


def test_capped_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(f"sqlite:///{tmp_path / 'bench.db'}", capsys) == [("0", "8"), ("300", "8")]


@pytest.mark.postgres
def test_capped_on_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    with postgres_database("hookline_bench") as url:
        assert run(url, capsys) == [("0", "8"), ("300", "8")]


def test_a_churn_delivers_all_it_was_given(db: Database) -> None:
    with db.write() as conn:
        rows.tenant(conn, datetime.now(UTC), "http://127.0.0.1:9/")
    backlog.churn(db, 450)
    with db.read() as conn:
        found = conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state))
        states = {state: n for state, n in found}
        assert states == {"delivered": 450}
        if db.dialect == "postgresql":  # left off, or vacuums would clear what it leaves
            options = conn.execute(
                text("SELECT reloptions FROM pg_class WHERE relname = 'deliveries'")
            ).scalar_one()
            assert options == ["autovacuum_enabled=false"]
