"""The issue's whole story over real HTTP: push through MAAC's Open API, open, webhook, report.

hookline is served by uvicorn on loopback with its embedded worker; LINE is the fake
LINE server (``hookline.devtools.fake_line``), which records the push and then opens
it by fetching its images as a LINE app would; the engineer's webhook is a loopback
receiver checked with the receiver library. The Open API calls are made by
``MaacClient``, written against MAAC's documentation only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from hookline.app import create_app
from hookline.config import Settings
from hookline.devtools.fake_line import FakeLine
from hookline.receiver import MessageFirstOpenEvent, verify_and_parse
from hookline.services.context import Context
from hookline.store.tables import events, push_opens
from tests.conftest import FakeClock
from tests.integration.conftest import OP, OPERATOR_TOKEN
from tests.support.live_app import serving
from tests.support.process import free_port
from tests.support.receiver import Receiver

FRIEND_A = "U" + "a" * 32
FRIEND_B = "U" + "b" * 32
FRIEND_C = "U" + "c" * 32
# httpx's default is 5 s: in CI a POST here once took longer, on a machine busy with a
# benchmark's aftermath. The suite's other live servers' clients wait 30.
HTTP_TIMEOUT = 30


class MaacClient:
    """What an engineer writes from MAAC's Open API reference, nothing hookline-specific."""

    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=base + "/openapi/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT,
        )

    def create_event(self, name: str) -> dict[str, Any]:
        r = self.http.post("/event/", json={"name": name})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def all_events(self, name: str = "") -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"name": name} if name else {}
        while True:
            page = self.http.get("/event/", params=params).json()
            found += page["results"]
            if page["next"] is None:
                return found
            params["start"] = page["next"]

    def push(self, template_id: int, data: dict[str, Any], event_id: int | None = None) -> Any:
        body: dict[str, Any] = {"template_id": template_id, "data": data}
        if event_id is not None:
            body["event_id"] = event_id
        r = self.http.post("/direct_message/push/", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def report(self, event_id: int, start: str, end: str) -> Any:
        r = self.http.get(
            f"/event/{event_id}/report/", params={"start_date": start, "end_date": end}
        )
        assert r.status_code == 200, r.text
        return r.json()


def template_messages(image: str) -> list[dict[str, Any]]:
    button = {"type": "uri", "label": "Shop", "uri": "https://shop.example.com/sale?c={{code}}"}
    return [
        {"type": "text", "text": "Hi {{name}}, your code is {{code}}"},
        {"type": "image", "originalContentUrl": image, "previewImageUrl": image},
        {
            "type": "flex",
            "altText": "Winter sale",
            "contents": {
                "type": "bubble",
                "hero": {"type": "image", "url": image},
                "footer": {
                    "type": "box",
                    "layout": "vertical",
                    "contents": [{"type": "button", "action": button}],
                },
            },
        },
    ]


@dataclass
class Live:
    base: str
    line: FakeLine
    http: httpx.Client


@pytest.fixture
def fake_line() -> Iterator[FakeLine]:
    line = FakeLine().start()
    yield line
    line.stop()


@pytest.fixture
def live(ctx: Context, fake_line: FakeLine) -> Iterator[Live]:
    port = free_port()
    settings = Settings(
        operator_token=SecretStr(OPERATOR_TOKEN),
        line_api_base=fake_line.base_url,
        public_url=f"http://127.0.0.1:{port}",
    )
    app = create_app(settings, ctx, embedded_worker=True)
    with serving(app, port) as base, httpx.Client(base_url=base, timeout=HTTP_TIMEOUT) as http:
        yield Live(base, fake_line, http)


def make_platform(live: Live, clock: FakeClock, zones: tuple[int, ...]) -> str:
    r = live.http.post("/v1/admin/platforms", json={"name": "Coffee"}, headers=OP)
    assert r.status_code == 201, r.text
    until = (clock.now + timedelta(days=30)).isoformat()
    for zone in zones:
        path = f"/v1/admin/platforms/{r.json()['id']}/zones/{zone}"
        assert live.http.put(path, json={"valid_until": until}, headers=OP).status_code == 200
    return str(r.json()["api_token"])


def marketer_setup(live: Live, token: str, hook_url: str) -> tuple[int, str]:
    """The marketer's part: channel, template, first-open webhook; (template id, secret)."""
    auth = {"Authorization": f"Bearer {token}"}
    channel = {"channel_access_token": live.line.channel_token}
    assert live.http.put("/v1/platform/line", json=channel, headers=auth).status_code == 200
    body = {"name": "Winter sale", "messages": template_messages(live.line.image_url())}
    r = live.http.post("/v1/templates", json=body, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["parameters"] == ["code", "name"]
    template_id = int(r.json()["id"])
    hook = {"name": "Opens", "url": hook_url, "topics": ["message.first_open"]}
    r = live.http.post("/v1/webhooks", json=hook, headers=auth)
    assert r.status_code == 201, r.text
    secret = live.http.get(f"/v1/webhooks/{r.json()['id']}/secret", headers=auth).json()
    return template_id, secret["secret"]


def _first_opens(ctx: Context) -> int:
    with ctx.db.read() as conn:
        query = select(func.count()).where(events.c.topic == "message.first_open")
        return int(conn.execute(query).scalar_one())


def test_two_friends_opening_twice_make_one_first_open_each_and_the_report_counts_them(
    live: Live, ctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    token = make_platform(live, clock, zones=(1, 2, 3))
    template_id, secret = marketer_setup(live, token, receiver.url())
    maac = MaacClient(live.base, token)
    event = maac.create_event("Winter sale 2026")
    assert isinstance(event["id"], int) and event["name"] == "Winter sale 2026"

    data = {"name": "Mei", "code": "W26"}
    answers = [
        maac.push(template_id, {"line_uid": uid, **data}, event["id"])
        for uid in (FRIEND_A, FRIEND_B)
    ]
    untracked = maac.push(template_id, {"line_uid": FRIEND_C, **data})
    assert [a["result"] for a in [*answers, untracked]] == ["success"] * 3
    assert [a["event_id"] for a in [*answers, untracked]] == [event["id"], event["id"], None]

    pushes = live.line.pushes
    assert [p.to for p in pushes] == [FRIEND_A, FRIEND_B, FRIEND_C]
    assert len({p.retry_key for p in pushes}) == 3
    assert pushes[0].messages[0]["text"] == "Hi Mei, your code is W26"
    image_url = pushes[0].messages[1]["originalContentUrl"]
    assert image_url.startswith(live.base + "/t/o/")
    assert image_url != pushes[1].messages[1]["originalContentUrl"]  # per recipient

    for index in (0, 0, 1, 1, 2, 2):  # each friend opens twice
        assert live.line.open(index) == [200, 200, 200]
    receiver.wait_for(lambda r: len(r.received("/hook")) == 2)
    opened = []
    for request in receiver.received("/hook"):
        parsed = verify_and_parse(request.body, request.headers, secret, now=clock.now)
        assert isinstance(parsed, MessageFirstOpenEvent)
        assert parsed.data.message_type == "openapi"
        assert parsed.data.message_id == event["id"]
        opened.append(parsed.data.line_uid)
    assert sorted(opened) == [FRIEND_A, FRIEND_B]
    assert _first_opens(ctx) == 2  # friend C's push had no event_id: no event at all
    assert live.line.image_hits == 1  # fetched once from the template's URL, then cached

    click = pushes[0].messages[2]["contents"]["footer"]["contents"][0]["action"]["uri"]
    for url in (click, click, pushes[1].messages[2]["contents"]["footer"]["contents"][0]
                ["action"]["uri"]):  # fmt: skip
        r = live.http.get(url.removeprefix(live.base))
        assert (r.status_code, r.headers["location"]) == (
            302,
            "https://shop.example.com/sale?c=W26",
        )

    day = clock.now.astimezone(ZoneInfo("Asia/Taipei")).date().isoformat()
    report = maac.report(event["id"], day, day)
    assert report["id"] == event["id"]
    assert report["report"]["total"] == {
        "opens": 2,
        "clicks": 3,
        "unique_clicks": 2,
        "adds_to_cart": 0,
        "transactions": 0,
        "transaction_revenue": 0,
    }
    assert report["report"]["urls"] == [
        {"url": "https://shop.example.com/sale?c=W26", "clicks": 3, "unique_clicks": 2}
    ]
    day_before = (clock.now - timedelta(days=1)).date().isoformat()
    assert maac.report(event["id"], day_before, day_before)["report"]["total"]["opens"] == 0
    assert [e["id"] for e in maac.all_events()] == [event["id"]]


def test_imagemaps_are_tracked_and_private_image_addresses_are_never_fetched(
    live: Live, ctx: Context, clock: FakeClock
) -> None:
    token = make_platform(live, clock, zones=(3,))
    auth = {"Authorization": f"Bearer {token}"}
    channel = {"channel_access_token": live.line.channel_token}
    assert live.http.put("/v1/platform/line", json=channel, headers=auth).status_code == 200
    imagemap = {
        "type": "imagemap",
        "baseUrl": live.line.image_url("map"),
        "altText": "Map",
        "baseSize": {"width": 1040, "height": 1040},
        "actions": [{"type": "uri", "linkUri": "https://shop.example.com/", "area": {}}],
    }
    metadata = "http://169.254.169.254/latest/meta-data/logo.png"
    private = {"type": "image", "originalContentUrl": metadata, "previewImageUrl": metadata}
    ids = []
    for messages in ([imagemap], [private]):
        r = live.http.post("/v1/templates", json={"name": "t", "messages": messages}, headers=auth)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    maac = MaacClient(live.base, token)
    for template_id in ids:
        assert maac.push(template_id, {"line_uid": FRIEND_A})["result"] == "success"

    pushed = live.line.pushes[0].messages[0]
    assert pushed["baseUrl"].startswith(live.base + "/t/o/")
    assert pushed["actions"][0]["linkUri"].startswith(live.base + "/t/c/")
    assert live.line.open(0) == [200]  # the app asks for baseUrl/1040
    assert live.line.image_hits == 1
    assert live.line.open(1) == [404, 404]  # refused by the SSRF guard: nothing fetched
    with ctx.db.read() as conn:
        opened = conn.execute(select(func.count()).select_from(push_opens)).scalar_one()
    assert opened == 2  # the fetches still were the friend's opens
