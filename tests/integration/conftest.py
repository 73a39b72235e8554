"""An API client over a real app and a real database (both backends), plus helpers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hookline.app import create_app
from hookline.config import Settings
from hookline.services.context import Context

OPERATOR_TOKEN = "hlo_test-operator-token"
OP = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
INGEST_TOKEN = "hli_test-ingest-token"
PRODUCER = {"Authorization": f"Bearer {INGEST_TOKEN}"}


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    settings = Settings(
        operator_token=SecretStr(OPERATOR_TOKEN), ingest_token=SecretStr(INGEST_TOKEN)
    )
    with TestClient(create_app(settings, ctx)) as c:
        yield c


@dataclass
class PlatformHandle:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_platform(client: TestClient, clock: Any) -> Any:
    """Create a platform through the operator API, with the given zones valid for days."""

    def make(zones: tuple[int, ...] = (1, 2), days: int = 30, **body: Any) -> PlatformHandle:
        r = client.post("/v1/admin/platforms", json={"name": "Coffee", **body}, headers=OP)
        assert r.status_code == 201, r.text
        created = r.json()
        until = (clock.now + timedelta(days=days)).isoformat()
        for zone in zones:
            r = client.put(
                f"/v1/admin/platforms/{created['id']}/zones/{zone}",
                json={"valid_until": until},
                headers=OP,
            )
            assert r.status_code == 200, r.text
        return PlatformHandle(created["id"], created["api_token"])

    return make


@pytest.fixture
def platform(make_platform: Any) -> PlatformHandle:
    return make_platform()


def webhook_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "CRM receipts",
        "url": "https://crm.example.com/hooks/maac",
        "topics": ["receipt.receipt_validated"],
    }
    body.update(overrides)
    return body
