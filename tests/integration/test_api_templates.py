"""Templates and the LINE channel through hookline's own /v1 API (problem+json)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hookline.services.context import Context
from hookline.store.tables import audit_log, line_channels, message_templates
from tests.integration.conftest import PlatformHandle

IMAGE = "https://cdn.example.com/banner.png"
IMAGE_MESSAGE = {"type": "image", "originalContentUrl": IMAGE, "previewImageUrl": IMAGE}


def post(client: TestClient, platform: PlatformHandle, body: Any) -> Any:
    return client.post(
        "/v1/templates",
        content=json.dumps(body),
        headers={**platform.headers, "Content-Type": "application/json"},
    )


def test_the_channel_token_is_sealed_and_never_shown(
    client: TestClient, platform: PlatformHandle, ctx: Context
) -> None:
    assert client.get("/v1/platform/line", headers=platform.headers).json() == {
        "connected": False,
        "updated_at": None,
    }
    token = "line-channel-token-" + "x" * 150
    r = client.put(
        "/v1/platform/line", json={"channel_access_token": token}, headers=platform.headers
    )
    assert r.status_code == 200 and token not in r.text
    shown = client.get("/v1/platform/line", headers=platform.headers)
    assert shown.json()["connected"] is True and token not in shown.text
    with ctx.db.read() as conn:
        sealed = conn.execute(select(line_channels.c.ciphertext)).scalar_one()
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert token not in sealed and ctx.box.decrypt(sealed) == token
    assert "line_channel.set" in actions


@pytest.mark.parametrize("token", ["", "has space", "a\x00b", "\ud800", "x" * 1001, "ü"])
def test_bad_channel_tokens_are_refused(
    client: TestClient, platform: PlatformHandle, ctx: Context, token: str
) -> None:
    r = client.put(
        "/v1/platform/line",
        content=json.dumps({"channel_access_token": token}),
        headers={**platform.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "channel_access_token"
    with ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(line_channels)).scalar_one() == 0


def test_template_crud_with_integer_ids(client: TestClient, platform: PlatformHandle) -> None:
    body = {"name": "Sale", "messages": [{"type": "text", "text": "Hi {{name}}"}, IMAGE_MESSAGE]}
    created = post(client, platform, body)
    assert created.status_code == 201, created.text
    template = created.json()
    assert isinstance(template["id"], int) and template["parameters"] == ["name"]
    url = f"/v1/templates/{template['id']}"
    assert client.get(url, headers=platform.headers).json()["messages"] == body["messages"]
    changed = client.patch(url, json={"name": "Winter sale"}, headers=platform.headers)
    assert changed.json()["name"] == "Winter sale"
    assert [t["id"] for t in client.get("/v1/templates", headers=platform.headers).json()] == [
        template["id"]
    ]
    assert client.delete(url, headers=platform.headers).status_code == 204
    assert client.get(url, headers=platform.headers).status_code == 404
    assert client.get("/v1/templates", headers=platform.headers).json() == []


def test_a_template_without_an_image_cannot_be_tracked(
    client: TestClient, platform: PlatformHandle
) -> None:
    r = post(client, platform, {"name": "Text only", "messages": [{"type": "text", "text": "Hi"}]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "cannot_be_tracked"
    assert "cannot be tracked" in r.json()["detail"]


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "messages"),
        ([IMAGE_MESSAGE] * 6, "messages"),
        ([{"type": "video"}], "messages[0].type"),
        ([{"type": "text"}, IMAGE_MESSAGE], "messages[0].text"),
        (
            [{"type": "image", "originalContentUrl": "ftp://x", "previewImageUrl": IMAGE}],
            "messages[0].originalContentUrl",
        ),
        ([IMAGE_MESSAGE, {"type": "flex", "altText": "x", "contents": {}}], "messages[1].contents"),
        (
            [IMAGE_MESSAGE, {"type": "imagemap", "baseUrl": IMAGE, "altText": "a"}],
            "messages[1].baseSize",
        ),
        ([IMAGE_MESSAGE, {"type": "text", "text": "a\x00b"}], "messages[1].text"),
        ([IMAGE_MESSAGE, {"type": "text", "text": "\ud800"}], "messages[1].text"),
        (["not an object"], "messages[0]"),
    ],
)
def test_malformed_messages_are_refused_naming_the_field(
    client: TestClient, platform: PlatformHandle, ctx: Context, messages: Any, field: str
) -> None:
    r = post(client, platform, {"name": "Bad", "messages": messages})
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    with ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(message_templates)).scalar_one() == 0


def test_nan_in_messages_is_refused(client: TestClient, platform: PlatformHandle) -> None:
    content = '{"name": "n", "messages": [{"type": "text", "text": "x", "n": NaN}]}'
    r = client.post(
        "/v1/templates",
        content=content,
        headers={**platform.headers, "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/v1/templates/0", "/v1/templates/99999999999999999999"])
def test_out_of_range_template_ids_are_422(
    client: TestClient, platform: PlatformHandle, path: str
) -> None:
    assert client.get(path, headers=platform.headers).status_code == 422


def test_tracking_urls_answer_404_for_anything_unknown(client: TestClient) -> None:
    for path in ("/t/o/unknown/0", "/t/c/unknown/0", "/t/o/unknown/0/1040", "/t/o/%00/0"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code in (404, 422), (path, r.status_code)
