"""hookline.receiver.flask: the decorator, exercised through a real Flask app."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from hookline.receiver import Event, PnpStatusUpdatedEvent
from hookline.receiver.flask import verified
from tests.receiver.support import OTHER_SECRET, SECRET, body_of, signed

TOPIC = "pnp.status_updated"


def make_app() -> Flask:
    app = Flask(__name__)
    app.config["seen"] = []

    @app.post("/hook")
    @verified(SECRET)
    def hook(event: Event) -> dict[str, Any]:
        app.config["seen"].append(event)
        assert g.hookline_event is event
        return {"topic": event.topic, "key": event.idempotency_key}

    @app.post("/tenants/<tenant>/hook")
    @verified(lambda: SECRET, schemes=["standard"])
    def tenant_hook(event: Event, tenant: str) -> str:
        return f"{tenant}:{event.topic}"

    @app.post("/async")
    @verified(SECRET)
    async def async_hook(event: Event) -> str:
        return event.topic

    return app


@pytest.fixture
def client() -> FlaskClient:
    return make_app().test_client()


def now() -> int:
    return int(time.time())


def test_genuine_request_reaches_the_view_with_its_event(client: FlaskClient) -> None:
    body = body_of(TOPIC)
    headers = signed(body, at=now())
    r = client.post("/hook", data=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json == {"topic": TOPIC, "key": headers["CrescLab-Idempotency-Key"]}
    (event,) = client.application.config["seen"]
    assert isinstance(event, PnpStatusUpdatedEvent) and event.data.status == "pnp_delivered"


def test_url_variables_follow_the_event(client: FlaskClient) -> None:
    body = body_of(TOPIC)
    r = client.post("/tenants/coffee/hook", data=body, headers=signed(body, at=now()))
    assert r.status_code == 200 and r.text == f"coffee:{TOPIC}"


def test_async_views_are_supported(client: FlaskClient) -> None:
    body = body_of(TOPIC)
    r = client.post("/async", data=body, headers=signed(body, at=now()))
    assert r.status_code == 200 and r.text == TOPIC


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"webhook-id": "x"}, 400, "missing_header"),
        ({"CrescLab-Signature": "zz"}, 400, "malformed_header"),
        ("wrong-secret", 401, "invalid_signature"),
        ("stale", 401, "timestamp_too_old"),
    ],
)
def test_refusals_answer_json_and_skip_the_view(
    client: FlaskClient, headers: Any, status: int, code: str
) -> None:
    body = body_of(TOPIC)
    if headers == "wrong-secret":
        headers = signed(body, [OTHER_SECRET], at=now())
    elif headers == "stale":
        headers = signed(body, at=now() - 3600)
    r = client.post("/hook", data=body, headers=headers)
    assert r.status_code == status
    assert r.is_json and r.json is not None and r.json["error"] == code
    assert r.json["message"]
    assert client.application.config["seen"] == []


def test_genuine_but_unparsable_body_is_400(client: FlaskClient) -> None:
    body = b"[1, 2, 3]"
    r = client.post("/hook", data=body, headers=signed(body, at=now()))
    assert r.status_code == 400 and r.json is not None
    assert r.json["error"] == "invalid_payload"


def test_schemes_option_is_applied(client: FlaskClient) -> None:
    body = body_of(TOPIC)
    maac_only = {k: v for k, v in signed(body).items() if not k.startswith("webhook-")}
    r = client.post("/tenants/coffee/hook", data=body, headers=maac_only)
    assert r.status_code == 400 and r.json is not None and r.json["error"] == "missing_header"
