"""``bench.round_cost`` runs on both backends: a benchmark that crashes measures nothing.

It drives the real ``Worker`` through its private round (``_claim``, ``_sending``), so a
refactor of the worker can break it without any test of the worker failing; it did
once (``Sending`` stopped being a dict). Tiny numbers: what is checked is that every
line it prints comes out, with the index pages on PostgreSQL after a churn.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bench import round_cost
from tests.conftest import postgres_database


def run(url: str, capsys: pytest.CaptureFixture[str]) -> str:
    asyncio.run(round_cost.measure(url, rows=6, calls=3, churn=1500))
    return capsys.readouterr().out


def test_round_cost_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(f"sqlite:///{tmp_path / 'bench.db'}", capsys)
    assert "after 1,500 churned" in out
    assert re.search(r"idle +median +[\d.]+ ms", out) and re.search(r"busy +median", out)
    assert "index pages" not in out  # a PostgreSQL count


@pytest.mark.postgres
def test_round_cost_on_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    with postgres_database("hookline_bench") as url:
        out = run(url, capsys)
    pages = re.findall(r"index pages a round ([\d,]+): (.*)", out)
    assert len(pages) == 2, out  # idle, then busy
    busy_pages, busy_each = pages[1]
    assert int(busy_pages.replace(",", "")) > 0 and "due" in busy_each
