"""The "many machines" tests' environment, and the API and database reads they use.

The children themselves are ``shared_db.Processes``, the database
``conftest.postgres_database``, the receiver ``counting_receiver.CountingReceiver``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

from hookline.store.tables import deliveries

TOPIC = "receipt.receipt_validated"
OPERATOR_TOKEN = "hlo_fleet_operator"
INGEST_TOKEN = "hli_fleet_ingest"


def fleet_env(**values: str) -> dict[str, str]:
    """This environment without any HOOKLINE_* of the caller's, plus the tests' own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(
        PYTHONUNBUFFERED="1",
        PYTHONUTF8="1",
        COLUMNS="200",
        HOOKLINE_OPERATOR_TOKEN=OPERATOR_TOKEN,
        HOOKLINE_INGEST_TOKEN=INGEST_TOKEN,
        HOOKLINE_SECRET_KEY="fleet-secret-key",
        HOOKLINE_ALLOW_HTTP="true",
        HOOKLINE_ALLOW_PRIVATE_NETWORKS="127.0.0.0/8",
    )
    env.update(values)
    return env


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def make_webhook(base: str, url: str) -> tuple[str, str]:
    """A platform with zone 1 valid for a month and one webhook to ``url``: the ids."""
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    with httpx.Client(base_url=base, headers=operator, timeout=30) as op:
        platform = _ok(op.post("/v1/admin/platforms", json={"name": "Fleet"}), 201)
        until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        _ok(op.put(f"/v1/admin/platforms/{platform['id']}/zones/1", json={"valid_until": until}))
    member = {"Authorization": f"Bearer {platform['api_token']}"}
    with httpx.Client(base_url=base, headers=member, timeout=30) as api:
        hook = {"name": "receiver", "url": url, "topics": [TOPIC]}
        webhook_id: str = _ok(api.post("/v1/webhooks", json=hook), 201)["id"]
    return platform["id"], webhook_id


def publish(base: str, platform_id: str, ids: range, data: dict[str, Any]) -> int:
    """One batch of events with these ids through ``base``; answers how many were accepted."""
    events = [
        {"platform_id": platform_id, "topic": TOPIC, "data": data, "id": f"fleet-{i}"} for i in ids
    ]
    headers = {"Authorization": f"Bearer {INGEST_TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as ingest:
        answer = _ok(ingest.post("/internal/v1/events/batch", json={"events": events}), 202)
    assert answer["rejected"] == 0, answer
    accepted: int = answer["accepted"]
    return accepted


def delivery_states(url: str) -> dict[str, int]:
    """How many deliveries are in each state, read straight from the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
            return {state: int(n) for state, n in conn.execute(query).all()}
    finally:
        engine.dispose()


def leased_by(url: str, pid: int) -> set[str]:
    """Idempotency keys of the deliveries the worker process ``pid`` holds leases on."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(deliveries.c.idempotency_key).where(
                deliveries.c.state == "in_flight",
                deliveries.c.lease_owner.like(f"%:{pid}:%"),
            )
            return set(conn.execute(query).scalars())
    finally:
        engine.dispose()


def delivered_keys(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(deliveries.c.idempotency_key).where(deliveries.c.state == "delivered")
            return set(conn.execute(query).scalars())
    finally:
        engine.dispose()
