"""MAAC's Open API answers as MAAC does: paging, limits, errors, LINE's refusals, tenants."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, insert, select

from hookline.app import create_app
from hookline.config import Settings
from hookline.devtools.fake_line import FakeLine
from hookline.domain.ratelimit import RateLimiter
from hookline.http.deps import Wiring
from hookline.services.context import Context
from hookline.store.tables import message_events, pushes
from tests.integration.conftest import INGEST_TOKEN, OP, OPERATOR_TOKEN, PlatformHandle

UID = "U" + "0123456789abcdef" * 2
OPEN = "/openapi/v1"


@pytest.fixture
def fake_line() -> Iterator[FakeLine]:
    line = FakeLine().start()
    yield line
    line.stop()


@pytest.fixture
def client(ctx: Context, fake_line: FakeLine) -> Iterator[TestClient]:
    settings = Settings(
        operator_token=SecretStr(OPERATOR_TOKEN),
        ingest_token=SecretStr(INGEST_TOKEN),
        line_api_base=fake_line.base_url,
        public_url="https://hooks.example.com",
        send_timeout=0.5,
        lease_seconds=5,
    )
    with TestClient(create_app(settings, ctx)) as c:
        yield c


def messages(image: str = "https://cdn.example.com/a.png") -> list[dict[str, Any]]:
    return [
        {"type": "text", "text": "Hello {{name}}"},
        {"type": "image", "originalContentUrl": image, "previewImageUrl": image},
    ]


def ready(client: TestClient, platform: PlatformHandle, line: FakeLine) -> int:
    """A channel and a template; answers the template id."""
    channel = {"channel_access_token": line.channel_token}
    r = client.put("/v1/platform/line", json=channel, headers=platform.headers)
    assert r.status_code == 200, r.text
    body = {"name": "Hello", "messages": messages()}
    r = client.post("/v1/templates", json=body, headers=platform.headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def push(client: TestClient, platform: PlatformHandle, **body: Any) -> Any:
    """JSON with \\uXXXX escapes, so lone surrogates reach the server as sent."""
    return client.post(
        f"{OPEN}/direct_message/push/",
        content=json.dumps(body),
        headers={**platform.headers, "Content-Type": "application/json"},
    )


def test_events_page_by_300_with_a_next_cursor_and_filter_by_name(
    client: TestClient, make_platform: Any, ctx: Context, clock: Any
) -> None:
    platform = make_platform()
    with ctx.db.write() as conn:
        rows = [
            {"platform_id": platform.id, "name": f"event {i}", "created_at": clock.now}
            for i in range(650)
        ]
        conn.execute(insert(message_events), rows)
    seen: list[int] = []
    params: dict[str, Any] = {}
    sizes = []
    while True:
        page = client.get(f"{OPEN}/event/", params=params, headers=platform.headers).json()
        sizes.append(len(page["results"]))
        seen += [e["id"] for e in page["results"]]
        if page["next"] is None:
            break
        params["start"] = page["next"]
    assert sizes == [300, 300, 50]
    assert seen == sorted(seen) and len(set(seen)) == 650
    first = client.get(f"{OPEN}/event/{seen[0]}/", headers=platform.headers).json()
    assert set(first) == {"id", "archived", "name", "created_at"}
    assert first["archived"] is False
    named = client.get(f"{OPEN}/event/", params={"name": "event 64"}, headers=platform.headers)
    assert sorted(e["name"] for e in named.json()["results"]) == ["event 64"] + [
        f"event 64{i}" for i in range(10)
    ]


def test_the_1001st_event_is_refused_with_maacs_message(
    client: TestClient, make_platform: Any, ctx: Context, clock: Any
) -> None:
    platform = make_platform()
    with ctx.db.write() as conn:
        row = {"platform_id": platform.id, "name": "e", "created_at": clock.now}
        conn.execute(insert(message_events), [row] * 1000)
    r = client.post(f"{OPEN}/event/", json={"name": "one more"}, headers=platform.headers)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["detail"] == "The number of events has reached the limit"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("GET", "/event/", {}, 401, "unauthorized"),
        ("GET", "/event/", {"Authorization": "Bearer nope"}, 401, "unauthorized"),
        ("GET", "/event/999/", None, 404, "message_event_not_found"),
        ("GET", "/event/0/", None, 400, "validation_error"),
        ("GET", "/event/99999999999999999999/", None, 400, "validation_error"),
        ("DELETE", "/event/", None, 405, "method_not_allowed"),
        ("GET", "/nothing/", None, 404, "not_found"),
        ("GET", "/event/1/report/?start_date=2026-13-01&end_date=x", None, 400, "validation_error"),
    ],
)
def test_errors_are_maac_json_with_ordinary_codes(
    client: TestClient,
    platform: PlatformHandle,
    method: str,
    path: str,
    headers: dict[str, str] | None,
    status: int,
    code: str,
) -> None:
    if status == 400 and "report" in path:  # the event must exist for the dates to be read
        created = client.post(f"{OPEN}/event/", json={"name": "e"}, headers=platform.headers)
        path = path.replace("/1/", f"/{created.json()['id']}/")
    r = client.request(
        method, OPEN + path, headers=platform.headers if headers is None else headers
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json()["code"] == code and r.json()["detail"]
    if status == 405:
        assert r.headers["allow"] == "GET, POST"


def test_push_needs_zone_3(client: TestClient, make_platform: Any, fake_line: FakeLine) -> None:
    platform = make_platform(zones=(1, 2))
    template_id = ready(client, platform, fake_line)
    r = push(client, platform, template_id=template_id, data={"line_uid": UID, "name": "A"})
    assert r.status_code == 403 and r.json()["code"] == "zone_not_purchased"
    assert fake_line.pushes == []


def test_a_missing_placeholder_is_named_and_nothing_is_sent(
    client: TestClient, make_platform: Any, fake_line: FakeLine, ctx: Context
) -> None:
    platform = make_platform(zones=(3,))
    template_id = ready(client, platform, fake_line)
    r = push(client, platform, template_id=template_id, data={"line_uid": UID})
    assert r.status_code == 400
    assert r.json()["errors"][0]["property"] == "data.name"
    assert fake_line.pushes == []
    with ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(pushes)).scalar_one() == 0


def test_line_refusals_are_relayed_and_timeouts_say_timeout(
    client: TestClient, make_platform: Any, fake_line: FakeLine
) -> None:
    platform = make_platform(zones=(3,))
    template_id = ready(client, platform, fake_line)
    body = {"template_id": template_id, "data": {"line_uid": UID, "name": "A"}}
    line_error = {
        "message": "The request body has 1 error(s)",
        "details": [{"message": "May not be empty", "property": "messages[0].text"}],
    }
    fake_line.answer_next(400, line_error)
    r = push(client, platform, **body)
    assert r.status_code == 200
    assert r.json()["result"] == line_error
    fake_line.hang_next()
    fake_line.hang_next()  # the push is tried again once, with the same retry key
    assert push(client, platform, **body).json()["result"] == "timeout"
    fake_line.answer_next(500, {"message": "Internal error"})
    assert push(client, platform, **body).json()["result"] == "error"
    r = push(client, platform, **body)
    assert (r.json()["result"], r.json()["event_id"]) == ("success", None)
    assert len(fake_line.pushes) == 1


def test_a_wrong_channel_token_is_lines_401_relayed(
    client: TestClient, make_platform: Any, fake_line: FakeLine
) -> None:
    platform = make_platform(zones=(3,))
    template_id = ready(client, platform, fake_line)
    channel = {"channel_access_token": "not-the-token"}
    client.put("/v1/platform/line", json=channel, headers=platform.headers)
    r = push(client, platform, template_id=template_id, data={"line_uid": UID, "name": "A"})
    assert r.json()["result"]["message"].startswith("Authentication failed")


def test_170_requests_a_second_then_429_with_retry_after(
    client: TestClient, platform: PlatformHandle, make_platform: Any
) -> None:
    wiring = client.app.state.wiring  # type: ignore[attr-defined]
    assert isinstance(wiring, Wiring) and wiring.messaging is not None
    wiring.messaging.limiter = RateLimiter(170, clock=lambda: 1000.25)  # one frozen second
    for _ in range(170):
        assert client.get(f"{OPEN}/event/", headers=platform.headers).status_code == 200
    r = client.get(f"{OPEN}/event/", headers=platform.headers)
    assert (r.status_code, r.headers["retry-after"], r.json()["code"]) == (429, "1", "rate_limited")
    other = make_platform()  # the budget is per platform
    assert client.get(f"{OPEN}/event/", headers=other.headers).status_code == 200


def test_platforms_never_see_each_others_events_templates_or_reports(
    client: TestClient, make_platform: Any, fake_line: FakeLine
) -> None:
    mine, theirs = make_platform(zones=(3,)), make_platform(zones=(3,))
    template_id = ready(client, mine, fake_line)
    event = client.post(f"{OPEN}/event/", json={"name": "mine"}, headers=mine.headers).json()
    ready(client, theirs, fake_line)
    assert client.get(f"{OPEN}/event/", headers=theirs.headers).json()["results"] == []
    for path in (f"{OPEN}/event/{event['id']}/", f"/v1/templates/{template_id}"):
        assert client.get(path, headers=theirs.headers).status_code == 404
    report = f"{OPEN}/event/{event['id']}/report/?start_date=2026-11-01&end_date=2026-11-30"
    assert client.get(report, headers=theirs.headers).status_code == 404
    data = {"line_uid": UID, "name": "A"}
    r = push(client, theirs, template_id=template_id, data=data)
    assert r.status_code == 404 and r.json()["code"] == "template_not_found"
    own = client.get("/v1/templates", headers=theirs.headers).json()[0]["id"]
    r = push(client, theirs, template_id=own, event_id=event["id"], data=data)
    assert r.status_code == 404 and r.json()["code"] == "message_event_not_found"
    assert client.delete(f"/v1/templates/{template_id}", headers=theirs.headers).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"template_id": "1", "data": {"line_uid": UID}},
        {"template_id": 1.5, "data": {"line_uid": UID}},
        {"template_id": 1, "data": {"line_uid": "U123"}},
        {"template_id": 1, "data": {"line_uid": UID, "name": "a\x00b"}},
        {"template_id": 1, "data": {"line_uid": UID, "name": "\ud800"}},
        {"template_id": 1, "data": {"line_uid": UID, "name": {"nested": 1}}},
        {"template_id": 1, "data": {"line_uid": UID, "na\u202eme": "x"}},
        {"template_id": 1, "event_id": 2**40, "data": {"line_uid": UID}},
        {"template_id": 1, "data": "not an object"},
    ],
)
def test_hostile_push_bodies_are_400_and_send_nothing(
    client: TestClient, make_platform: Any, fake_line: FakeLine, body: dict[str, Any]
) -> None:
    platform = make_platform(zones=(3,))
    template_id = ready(client, platform, fake_line)
    if body["template_id"] == 1:  # a real template: only the field under test is wrong
        body = {**body, "template_id": template_id}
    r = push(client, platform, **body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "validation_error"
    assert fake_line.pushes == []


def test_nan_and_huge_numbers_in_a_push_are_400(
    client: TestClient, make_platform: Any, fake_line: FakeLine
) -> None:
    platform = make_platform(zones=(3,))
    template_id = ready(client, platform, fake_line)
    for raw in ("NaN", "1e400", "1" * 5000):
        content = (
            f'{{"template_id": {template_id}, "data": {{"line_uid": "{UID}", "name": {raw}}}}}'
        )
        r = client.post(
            f"{OPEN}/direct_message/push/",
            content=content,
            headers={**platform.headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 400, (raw, r.text)
    assert fake_line.pushes == []


def test_operator_route_unchanged(client: TestClient) -> None:
    """The mounted Open API leaves hookline's own problem+json answers alone."""
    r = client.get("/v1/templates")
    assert r.headers["content-type"] == "application/problem+json" and r.status_code == 401
    assert client.get("/v1/admin/platforms", headers=OP).status_code == 200
