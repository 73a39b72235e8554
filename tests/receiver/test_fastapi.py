"""hookline.receiver.fastapi: the dependency, exercised through a real FastAPI app."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from hookline.receiver import Event, ReceiptValidatedEvent
from hookline.receiver.fastapi import webhook_event
from tests.receiver.support import OTHER_SECRET, SECRET, body_of, signed

current_secret = [SECRET]


def make_app() -> FastAPI:
    app = FastAPI()
    seen: list[Event] = []
    app.state.seen = seen

    @app.post("/hook")
    async def hook(event: Annotated[Event, Depends(webhook_event(SECRET))]) -> dict[str, Any]:
        seen.append(event)
        return {"topic": event.topic, "key": event.idempotency_key, "test": event.is_test}

    @app.post("/strict")
    def strict(
        event: Annotated[Event, Depends(webhook_event(SECRET, schemes={"maac", "standard"}))],
    ) -> str:
        return event.topic

    @app.post("/rotating")
    def rotating(
        event: Annotated[Event, Depends(webhook_event(lambda: current_secret[0]))],
    ) -> str:
        return event.topic

    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app()) as c:
        yield c


def now() -> int:
    return int(time.time())


def test_genuine_request_reaches_the_route_with_its_event(client: TestClient) -> None:
    body = body_of()
    r = client.post("/hook", content=body, headers=signed(body, at=now(), test=True))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "topic": "receipt.receipt_validated",
        "key": signed(body)["webhook-id"],
        "test": True,
    }
    (event,) = client.app.state.seen  # type: ignore[attr-defined]
    assert isinstance(event, ReceiptValidatedEvent) and event.data.number == "AB12345678"


def test_wrong_signature_is_401_with_a_json_error(client: TestClient) -> None:
    body = body_of()
    r = client.post("/hook", content=body, headers=signed(body, [OTHER_SECRET], at=now()))
    assert r.status_code == 401
    assert r.json()["detail"]["error"] == "invalid_signature"
    assert "CrescLab-Signature" in r.json()["detail"]["message"]
    assert client.app.state.seen == []  # type: ignore[attr-defined]


def test_stale_request_is_401(client: TestClient) -> None:
    body = body_of()
    r = client.post("/hook", content=body, headers=signed(body, at=now() - 3600))
    assert r.status_code == 401 and r.json()["detail"]["error"] == "timestamp_too_old"


def test_missing_headers_are_400(client: TestClient) -> None:
    r = client.post("/hook", content=body_of(), headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"]["error"] == "missing_header"


def test_malformed_header_is_400(client: TestClient) -> None:
    body = body_of()
    headers = {**signed(body, at=now()), "CrescLab-Signature": "nope"}
    r = client.post("/hook", content=body, headers=headers)
    assert r.status_code == 400 and r.json()["detail"]["error"] == "malformed_header"


def test_genuine_but_unparsable_body_is_400(client: TestClient) -> None:
    body = b'{"timestamp": "2026-11-29T12:00:00+08:00", "topic": "message.first_open"}'
    r = client.post("/hook", content=body, headers=signed(body, at=now()))
    assert r.status_code == 400 and r.json()["detail"]["error"] == "invalid_payload"
    assert "data" in r.json()["detail"]["message"]


def test_schemes_option_is_applied(client: TestClient) -> None:
    body = body_of()
    headers = {k: v for k, v in signed(body).items() if not k.startswith("webhook-")}
    assert client.post("/hook", content=body, headers=headers).status_code == 200
    r = client.post("/strict", content=body, headers=headers)
    assert r.status_code == 400 and r.json()["detail"]["error"] == "missing_header"


def test_secret_function_is_read_per_request(client: TestClient) -> None:
    body = body_of()
    assert client.post("/rotating", content=body, headers=signed(body, at=now())).status_code == 200
    current_secret[0] = OTHER_SECRET
    try:
        r = client.post("/rotating", content=body, headers=signed(body, at=now()))
        assert r.status_code == 401
        r = client.post("/rotating", content=body, headers=signed(body, [OTHER_SECRET], at=now()))
        assert r.status_code == 200
    finally:
        current_secret[0] = SECRET
