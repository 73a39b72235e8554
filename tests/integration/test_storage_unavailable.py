"""A database that cannot take writes: every face answers 503 and /readyz says so.

Real faults only: SQLite at its page limit (SQLITE_FULL) or in query-only mode
(SQLITE_READONLY); PostgreSQL with the database set read-only.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from hookline.catalog import TOPICS
from hookline.services.context import Context
from tests.integration.conftest import PRODUCER, PlatformHandle, webhook_body
from tests.support.db_faults import SqliteFault, postgres_read_only

TOPIC = "receipt.receipt_validated"
BIG = "x" * 200_000  # needs new pages, whatever free space the file has


def ingest(client: TestClient, platform: PlatformHandle, note: str = "") -> Response:
    data: dict[str, Any] = {**TOPICS[TOPIC].sample}
    if note:
        data["campaign_name"] = note
    body = {"platform_id": platform.id, "topic": TOPIC, "data": data}
    return client.post("/internal/v1/events", json=body, headers=PRODUCER)


def assert_storage_unavailable(r: Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["Retry-After"]) > 0
    body = r.json()
    assert body["code"] == "storage_unavailable" and "try again" in body["detail"].lower()
    assert "INSERT" not in r.text and "sqlite" not in r.text.lower()


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", ["full", "read_only"])
def test_sqlite_full_or_read_only_is_a_503_problem_and_readyz_fails(
    ctx: Context, client: TestClient, platform: PlatformHandle, mode: Any
) -> None:
    r = client.post("/v1/webhooks", json=webhook_body(), headers=platform.headers)
    assert r.status_code == 201
    assert client.get("/readyz").json()["writes"] == "ok"
    ctx.db.write_health.quiet = 0  # recover at the first good write (the rule: unit tests)
    fault = SqliteFault(ctx.db)
    fault.mode = mode
    assert_storage_unavailable(ingest(client, platform, BIG))
    if mode == "read_only":  # the management API too (a full file may still fit a small row)
        assert_storage_unavailable(
            client.post("/v1/webhooks", json=webhook_body(name="more"), headers=platform.headers)
        )
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["writes"] == "failing"
    fault.mode = None
    assert ingest(client, platform, BIG).status_code == 202
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["writes"] == "ok"


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_read_only_postgres_is_a_503_problem_and_readyz_fails(
    ctx: Context, client: TestClient, platform: PlatformHandle
) -> None:
    r = client.post("/v1/webhooks", json=webhook_body(), headers=platform.headers)
    assert r.status_code == 201
    ctx.db.write_health.quiet = 0  # recover at the first good write (the rule: unit tests)
    with postgres_read_only(ctx.db):
        assert_storage_unavailable(ingest(client, platform))
        assert client.get("/v1/webhooks", headers=platform.headers).status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["writes"] == "failing"
    assert ingest(client, platform).status_code == 202
    assert client.get("/readyz").status_code == 200
