"""The issue's "Done when" from `hookline serve --demo`, as a user would do it by hand.

The marketer connects the demo's fake LINE channel, saves a template and a first-open
webhook; the engineer creates a message event and pushes with its ``event_id``; the
fake LINE opens the push twice; the webhook gets one ``message.first_open`` and the
report shows ``opens: 1``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.receiver import Receiver
from tests.support.server import DemoServer, demo_server

UID = "U" + "5" * 32


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DemoServer]:
    with demo_server(tmp_path / "var") as s:
        yield s


def test_a_push_opened_twice_makes_one_first_open_and_one_open_in_the_report(
    server: DemoServer, receiver: Receiver
) -> None:
    fake_line = server.printed("Fake LINE")
    api = server.api()
    channel = {"channel_access_token": server.printed("LINE token")}
    assert api.put("/v1/platform/line", json=channel).status_code == 200
    image = server.printed("Sample image")
    template = {
        "name": "Demo",
        "messages": [
            {"type": "text", "text": "Hi {{name}}"},
            {"type": "image", "originalContentUrl": image, "previewImageUrl": image},
        ],
    }
    template_id = api.post("/v1/templates", json=template).json()["id"]
    server.create_webhook("Opens", receiver.url(), ["message.first_open"])

    event = api.post("/openapi/v1/event/", json={"name": "Demo event"}).json()
    body = {
        "template_id": template_id,
        "event_id": event["id"],
        "data": {"line_uid": UID, "name": "Mei"},
    }
    r = api.post("/openapi/v1/direct_message/push/", json=body)
    assert r.json() == {"id": r.json()["id"], "event_id": event["id"], "result": "success"}

    for _ in range(2):
        opened = httpx.post(f"{fake_line}/fake/pushes/0/open", timeout=10)
        assert opened.json() == {"image_statuses": [200, 200]}
    receiver.wait_for(lambda r: len(r.received()) >= 1)
    sent = json.loads(receiver.received()[0].body)
    assert (sent["topic"], sent["data"]["message_id"], sent["data"]["line_uid"]) == (
        "message.first_open",
        event["id"],
        UID,
    )
    today = datetime.now(ZoneInfo("Asia/Taipei")).date().isoformat()
    report = api.get(
        f"/openapi/v1/event/{event['id']}/report/",
        params={"start_date": today, "end_date": today},
    ).json()
    assert report["report"]["total"]["opens"] == 1
    assert len(receiver.received()) == 1
