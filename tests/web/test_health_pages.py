"""Health on the dashboard: the list's badge, the details' figures, tests marked, headers."""

from __future__ import annotations

import re

from hookline.catalog import TOPICS
from hookline.services import deliveries, ingest
from hookline.services.context import Context
from tests.conftest import FakeClock
from tests.integration.test_api_deliveries import deliver_all
from tests.support.receiver import Answer, Receiver
from tests.web.conftest import Dashboard, english_ui_words, make_platform
from tests.web.test_marketer_pages import ZH, create

TOPIC = "prize.points_added"


def publish(ctx: Context, platform_id: str, n: int) -> None:
    for _ in range(n):
        ingest.ingest_one(ctx, ingest.IncomingEvent(platform_id, TOPIC, TOPICS[TOPIC].sample))


def figure(html: str, window: str, name: str) -> str:
    row = re.search(rf'data-window="{window}">(.*?)</tr>', html, re.S)
    assert row, f"no {window} row"
    cell = re.search(rf'data-figure="{name}">([^<]*)<', row.group(1))
    assert cell, f"no {name} figure"
    return cell.group(1).strip()


def test_the_list_badges_health_and_last_delivery_ignores_tests(
    dashboard: Dashboard, receiver: Receiver, ctx: Context
) -> None:
    tested = create(dashboard, receiver.url(), name="Tested only")
    page = f"/webhooks/{tested}"
    dashboard.post(f"{page}/test", {"topic": TOPIC}, page=page)
    listing = dashboard.client.get("/webhooks").text
    row = listing.split(f'data-webhook="{tested}"')[1].split("</tr>")[0]
    assert 'data-health="idle"' in row and "Nothing sent yet" in row

    publish(ctx, dashboard.platform_id, 2)
    deliver_all(ctx)
    row = dashboard.client.get("/webhooks").text.split(f'data-webhook="{tested}"')[1]
    row = row.split("</tr>")[0]
    assert 'data-health="healthy"' in row and "Nothing sent yet" not in row

    receiver.policy = lambda _r: Answer(status=500)
    publish(ctx, dashboard.platform_id, 1)
    deliver_all(ctx)
    row = dashboard.client.get("/webhooks").text.split(f'data-webhook="{tested}"')[1]
    assert 'data-health="degraded"' in row.split("</tr>")[0]  # 2 of 3 delivered
    publish(ctx, dashboard.platform_id, 2)  # 2 of 5: below half
    deliver_all(ctx)
    row = dashboard.client.get("/webhooks").text.split(f'data-webhook="{tested}"')[1]
    assert 'data-health="failing"' in row.split("</tr>")[0]


def test_details_show_both_windows_and_mark_test_sends(
    dashboard: Dashboard, receiver: Receiver, ctx: Context, clock: FakeClock
) -> None:
    webhook_id = create(dashboard, receiver.url())
    page = f"/webhooks/{webhook_id}"
    publish(ctx, dashboard.platform_id, 3)
    deliver_all(ctx)
    clock.advance(days=2)
    dashboard.login()  # the session idled out meanwhile
    receiver.policy = lambda _r: Answer(status=500)
    publish(ctx, dashboard.platform_id, 1)
    deliver_all(ctx)
    dashboard.post(f"{page}/test", {"topic": TOPIC}, page=page)
    html = dashboard.client.get(page).text
    assert (figure(html, "24h", "delivered"), figure(html, "24h", "failed")) == ("0", "1")
    assert figure(html, "24h", "rate") == "0.0%"
    assert (figure(html, "7d", "delivered"), figure(html, "7d", "failed")) == ("3", "1")
    assert figure(html, "7d", "rate") == "75.0%" and figure(html, "7d", "p50").endswith(" ms")
    assert html.count('data-test="true"') == 1  # the one test send in the log, marked


def test_an_attempt_shows_answer_headers_without_cookies(
    dashboard: Dashboard, receiver: Receiver, ctx: Context
) -> None:
    webhook_id = create(dashboard, receiver.url())
    receiver.policy = lambda _r: Answer(
        status=202,
        headers=(("X-Request-Id", "req-42"), ("Set-Cookie", "session=topsecret")),
    )
    publish(ctx, dashboard.platform_id, 1)
    deliver_all(ctx)
    (delivery,), _ = deliveries.list_deliveries(ctx, dashboard.platform_id, webhook_id)
    html = dashboard.client.get(f"/webhooks/{webhook_id}/deliveries/{delivery.id}").text
    assert "X-Request-ID: req-42" in html and "Set-Cookie: [removed]" in html
    assert "topsecret" not in html and 'data-test="true"' not in html
    zh = dashboard.client.get(f"/webhooks/{webhook_id}/deliveries/{delivery.id}", headers=ZH)
    assert "回應標頭" in zh.text


def test_health_pages_in_chinese_hold_no_english(
    dashboard: Dashboard, receiver: Receiver, ctx: Context
) -> None:
    webhook_id = create(dashboard, receiver.url(), name="顧客系統")
    publish(ctx, dashboard.platform_id, 1)
    deliver_all(ctx)
    for path in ("/webhooks", f"/webhooks/{webhook_id}"):
        html = dashboard.client.get(path, headers=ZH).text
        assert english_ui_words(html, receiver.url()) == set(), path
    assert "健康狀態" in html and "過去 7 天" in html


def test_another_platforms_deliveries_do_not_count(
    dashboard: Dashboard, receiver: Receiver, ctx: Context, clock: FakeClock
) -> None:
    webhook_id = create(dashboard, receiver.url())
    other = make_platform(ctx, clock, name="Tea")
    publish(ctx, other, 2)
    deliver_all(ctx)
    html = dashboard.client.get(f"/webhooks/{webhook_id}").text
    assert figure(html, "7d", "delivered") == "0"


def test_the_secret_panel_says_which_secrets_sign_and_until_when(
    dashboard: Dashboard, receiver: Receiver, clock: FakeClock
) -> None:
    webhook_id = create(dashboard, receiver.url())
    page = f"/webhooks/{webhook_id}"
    html = dashboard.client.get(page).text
    assert html.count("data-signing=") == 1 and 'data-signing="current"' in html
    dashboard.post(f"{page}/secret/change", {"grace_seconds": 86400}, page=page)
    html = dashboard.client.get(page).text
    assert html.count('data-signing="grace"') == 1 and 'data-signing="current"' in html
    assert "also signs until 2026-11-29 12:00" in html  # 24 h later, in Asia/Taipei
    clock.advance(hours=25)
    dashboard.login()
    assert dashboard.client.get(page).text.count("data-signing=") == 1
