"""The marketer's Open API pages: LINE channel, templates (JSON and preview), events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from hookline.domain.models import Role
from hookline.services import messaging, templates, users
from hookline.services.context import Context
from hookline.store.tables import line_channels, message_templates
from hookline.web.messaging import EXAMPLE
from tests.conftest import FakeClock
from tests.web.conftest import PASSWORD, Dashboard, english_ui_words, make_platform

ZH = {"Accept-Language": "zh-TW"}
EXAMPLE_TEXT = EXAMPLE[0]["text"]  # the new-template sample: data, not interface
IMAGE = "https://cdn.example.com/banner.png"
MESSAGES = [
    {"type": "text", "text": "Hi {{name}}"},
    {"type": "image", "originalContentUrl": IMAGE, "previewImageUrl": IMAGE},
    {
        "type": "flex",
        "altText": "Winter sale",
        "contents": {"type": "bubble", "body": {"type": "box", "contents": [
            {"type": "text", "text": "Half price"}]}},
    },
]  # fmt: skip
# LINE's own names for its message kinds and settings, kept in Latin letters in zh-TW
LINE_TERMS = {"Open", "Channel", "access", "token", "text", "image", "imagemap", "flex"}
LINE_TERMS |= {"Imagemap", "Flex", "param", "name", "Messaging"}


def save_template(dash: Dashboard, name: str, messages: Any) -> Any:
    source = messages if isinstance(messages, str) else json.dumps(messages)
    return dash.post(
        "/messaging/templates/new", {"name": name, "messages": source}, page="/messaging"
    )


def only_template(ctx: Context, platform_id: str) -> int:
    """The id the platform's one template got (ids are not reset between tests)."""
    (found,) = templates.list_templates(ctx, platform_id)
    return found.id


def test_channel_token_is_saved_sealed_and_never_shown(dashboard: Dashboard, ctx: Context) -> None:
    token = "channel-token-" + "z" * 100
    r = dashboard.post("/messaging/line", {"channel_access_token": token}, page="/messaging")
    assert r.status_code == 303 and r.headers["location"] == "/messaging?notice=line_saved"
    page = dashboard.client.get("/messaging").text
    assert 'id="line-state"><span class="badge ok">' in page and token not in page
    with ctx.db.read() as conn:
        assert token not in conn.execute(select(line_channels.c.ciphertext)).scalar_one()


def test_a_template_is_saved_previewed_and_listed(dashboard: Dashboard, ctx: Context) -> None:
    r = save_template(dashboard, "Winter", MESSAGES)
    assert r.status_code == 303, r.text
    page = dashboard.client.get("/messaging").text
    assert "Winter" in page and 'data-template="' in page and "{{name}}" in page
    template_id = only_template(ctx, dashboard.platform_id)
    editor = dashboard.client.get(f"/messaging/templates/{template_id}")
    assert editor.status_code == 200
    assert 'data-kind="flex"' in editor.text and "Half price" in editor.text


def test_a_template_without_an_image_is_refused_in_the_editor(
    dashboard: Dashboard, ctx: Context
) -> None:
    r = save_template(dashboard, "Text", [{"type": "text", "text": "hi"}])
    assert r.status_code == 422
    assert "opens cannot be tracked" in r.text
    r = save_template(dashboard, "Broken", "[{")
    assert r.status_code == 422 and "not valid JSON" in r.text
    with ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(message_templates)).scalar_one() == 0


def test_events_show_their_pushes_opens_and_clicks(dashboard: Dashboard, ctx: Context) -> None:
    r = dashboard.post("/messaging/events", {"name": "Winter 2026"}, page="/messaging")
    assert r.status_code == 303
    page = dashboard.client.get("/messaging").text
    assert "Winter 2026" in page and 'data-figure="opens">0<' in page
    assert [s.event.name for s in messaging.event_summaries(ctx, dashboard.platform_id)] == [
        "Winter 2026"
    ]


@pytest.mark.parametrize("name", ["", "a\x00b", "x" * 101, "\u202e"])
def test_bad_event_names_are_refused_in_place(dashboard: Dashboard, name: str) -> None:
    r = dashboard.post("/messaging/events", {"name": name}, page="/messaging")
    assert r.status_code == 422 and 'id="event-error"' in r.text


def test_pages_in_traditional_chinese(dashboard: Dashboard, ctx: Context) -> None:
    save_template(dashboard, "冬季", MESSAGES)
    dashboard.post("/messaging/events", {"name": "冬季活動"}, page="/messaging")
    edit = f"/messaging/templates/{only_template(ctx, dashboard.platform_id)}"
    for path in ("/messaging", edit, "/messaging/templates/new"):
        page = dashboard.client.get(path, headers=ZH).text
        source = (
            page.split("<textarea", 1)[-1].split("</textarea>")[0] if "<textarea" in page else ""
        )
        words = english_ui_words(page, source, IMAGE, "Winter sale", "Half price", EXAMPLE_TEXT)
        assert words - LINE_TERMS == set(), (path, words)


def test_another_platform_cannot_open_my_template(
    dashboard: Dashboard, ctx: Context, clock: FakeClock
) -> None:
    save_template(dashboard, "Mine", MESSAGES)
    mine = f"/messaging/templates/{only_template(ctx, dashboard.platform_id)}"
    other = make_platform(ctx, clock, name="Tea")
    users.create_user(
        ctx, email="tom@tea.example", password=PASSWORD, role=Role.MEMBER, platform_id=other
    )
    dashboard.client.post("/logout", data={}, follow_redirects=False)
    dashboard.client.cookies.clear()
    dashboard.login("tom@tea.example")
    assert dashboard.client.get(mine).status_code == 404
    assert "Mine" not in dashboard.client.get("/messaging").text
