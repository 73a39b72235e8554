"""``/readyz`` counts the workers that beat recently; ``serve`` fails it while none does.

Accepting events that nothing will deliver is not "ready". A ``serve --no-worker``
whose separate workers have not started (or all died) answers 503 too: nothing
delivers in that state either, and an orchestrator should see it.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import SecretStr

from hookline.app import create_app
from hookline.config import Settings
from hookline.services.context import Context
from tests.conftest import FakeClock


def readyz(ctx: Context, *, expect_workers: bool) -> tuple[int, dict[str, object]]:
    app = create_app(Settings(operator_token=SecretStr("x")), ctx, expect_workers=expect_workers)
    with TestClient(app) as c:
        r = c.get("/readyz")
    return r.status_code, r.json()


def test_no_live_worker_fails_readiness_where_workers_are_expected(
    ctx: Context, clock: FakeClock
) -> None:
    status, body = readyz(ctx, expect_workers=True)
    assert status == 503
    assert body == {
        "status": "unavailable",
        "database": ctx.db.dialect,
        "writes": "ok",
        "workers": 0,
        "reason": "no worker alive",
    }
    ctx.queue.heartbeat("w1", clock.now)
    status, body = readyz(ctx, expect_workers=True)
    assert status == 200 and body["workers"] == 1 and body["status"] == "ok"
    clock.advance(seconds=ctx.worker_dead_after.total_seconds() + 1)  # it stopped beating
    assert readyz(ctx, expect_workers=True)[0] == 503


def test_an_app_without_workers_expected_only_reports_them(ctx: Context) -> None:
    status, body = readyz(ctx, expect_workers=False)
    assert status == 200 and body["workers"] == 0
