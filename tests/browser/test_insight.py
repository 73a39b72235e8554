"""Health, the event log, the audit log and the dashboard's actions in a real browser.

Events reach ``hookline serve --demo`` through its ingest API and are delivered by its
own worker to the loopback receiver; the pages are then read and clicked as a person
would, in English, in Chinese and on a 375 px screen.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from hookline.catalog import TOPICS
from tests.browser.conftest import MOBILE, OpenTab, Shots
from tests.browser.support import EN, POINTS, RECEIPT, send_delivered_test
from tests.browser.test_dashboard import ZH, english_left
from tests.support.process import wait_until
from tests.support.receiver import Answer, Receiver
from tests.support.server import DemoServer


def publish(server: DemoServer, topic: str, producer_id: str) -> str:
    body = {
        "platform_id": server.creds["platform_id"],
        "topic": topic,
        "data": TOPICS[topic].sample,
        "id": producer_id,
    }
    headers = {"Authorization": f"Bearer {server.creds['ingest_token']}"}
    r = httpx.post(f"{server.base}/internal/v1/events", json=body, headers=headers, timeout=10)
    assert r.status_code == 202, r.text
    event_id: str = r.json()["event_id"]
    return event_id


def stats(server: DemoServer, webhook_id: str) -> Any:
    with server.api() as api:
        r = api.get(f"/v1/webhooks/{webhook_id}/stats")
        assert r.status_code == 200, r.text
        return r.json()


def delivered(server: DemoServer, webhook_id: str, count: int) -> None:
    """The demo's worker delivered ``count`` real events (a condition with a deadline)."""
    wait_until(f"{count} deliveries", lambda: stats(server, webhook_id)["delivered"] >= count, 20)


def test_health_events_and_answer_headers_in_english(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver, shots: Shots
) -> None:
    receiver.policy = lambda _r: Answer(headers=(("X-Request-Id", "req-browser"),))
    webhook_id = server.create_webhook("CRM", receiver.url("/health"), [RECEIPT])
    first = publish(server, RECEIPT, "order-browser-1")
    publish(server, RECEIPT, "order-browser-2")
    delivered(server, webhook_id, 2)

    tab = open_tab(login="member")
    page = tab.page
    tab.goto("/webhooks")
    row = page.locator(f"tr[data-webhook='{webhook_id}']")
    expect(row.locator("[data-health]")).to_have_text(EN("health.healthy"))
    last = row.locator("td").nth(4)
    before = last.inner_text()

    with page.expect_navigation():
        row.get_by_role("link", name="CRM", exact=True).click()
    figures = page.locator("#health-figures tr[data-window='24h']")
    expect(figures.locator("[data-figure='delivered']")).to_have_text("2")
    expect(figures.locator("[data-figure='rate']")).to_have_text("100.0%")
    expect(figures.locator("[data-figure='p50']")).to_have_text(re.compile(r"^\d+ ms$"))
    expect(page.locator("#signing-secrets li")).to_have_count(1)
    send_delivered_test(page, RECEIPT)
    expect(page.locator("#deliveries [data-test='true']")).to_have_count(1)
    expect(page.locator("#deliveries [data-test='true']")).to_have_text(EN("test_mark.label"))
    shots.save(page, "20-health")
    tab.goto("/webhooks")
    assert page.locator(f"tr[data-webhook='{webhook_id}'] td").nth(4).inner_text() == before

    tab.goto(f"/webhooks/{webhook_id}")
    real = page.locator("#deliveries tr[data-delivery]").filter(has_not=page.locator("[data-test]"))
    with page.expect_navigation():
        real.first.get_by_role("link").click()
    page.click("details.answer-headers summary")
    expect(page.locator("details.answer-headers pre")).to_contain_text("X-Request-ID: req-browser")

    with page.expect_navigation():
        page.click("#nav-events")
    expect(page.locator("tr[data-event]")).to_have_count(3)  # two events and the test send
    page.fill("#event-q", "order-browser-1")
    with page.expect_navigation():
        page.click("#event-filter")
    expect(page.locator("tr[data-event]")).to_have_count(1)
    expect(page.locator(f"tr[data-event='{first}']")).to_have_attribute("data-outcome", "delivered")
    shots.save(page, "21-events")


def test_health_and_events_in_chinese(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver
) -> None:
    webhook_id = server.create_webhook("CRM", receiver.url("/zh-health"), [POINTS])
    publish(server, POINTS, "zh-order-1")
    delivered(server, webhook_id, 1)
    tab = open_tab(login="member", locale="zh-TW")
    page = tab.page
    for path in ("/webhooks", f"/webhooks/{webhook_id}", "/events", "/audit"):
        tab.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "zh-TW")
        assert english_left(page) == [], path
    tab.goto("/webhooks")
    expect(page.locator(f"tr[data-webhook='{webhook_id}'] [data-health]")).to_have_text(
        ZH("health.healthy")
    )
    tab.goto(f"/webhooks/{webhook_id}")
    expect(page.locator("#health-title")).to_contain_text(ZH("health.title"))


def test_edit_and_recover_from_the_dashboard_then_read_the_audit_log(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver, shots: Shots
) -> None:
    webhook_id = server.create_webhook("CRM", receiver.url("/old"), [RECEIPT])
    tab = open_tab(login="member")
    page = tab.page
    tab.goto(f"/webhooks/{webhook_id}")
    with page.expect_navigation():
        page.click("#edit-link")
    page.fill("#name", "CRM v2")
    page.fill("#url", receiver.url("/new"))
    page.check(f"input[name=topics][value='{POINTS}']")
    with page.expect_navigation():
        page.click("#edit-submit")
    expect(page.locator("#notice")).to_have_text(EN("notice.updated"))
    expect(page.locator("h1")).to_have_text("CRM v2")
    send_delivered_test(page, POINTS)
    assert receiver.received()[-1].path == "/new"

    with page.expect_navigation():
        page.click("#recover-link")
    expect(page.locator("#recover-preview")).to_have_attribute("data-count", "0")
    expect(page.locator("#recover-submit")).to_have_count(0)
    shots.save(page, "22-recover")

    with page.expect_navigation():
        page.click("#nav-audit")
    for action in ("webhook.update:name,url,topics", "webhook.create"):
        expect(page.locator(f"tr[data-action='{action}']").first).to_be_visible()


def test_a_member_changes_the_password_and_back(open_tab: OpenTab, server: DemoServer) -> None:
    original = server.creds["member_password"]
    tab = open_tab(login="member")
    page = tab.page
    with page.expect_navigation():
        page.click("#nav-account")

    def change(current: str, new: str) -> None:
        page.fill("#current_password", current)
        page.fill("#new_password", new)
        page.fill("#repeat_password", new)
        with page.expect_navigation():
            page.click("#password-submit")
        expect(page.locator("#password-changed")).to_have_text(EN("password.changed"))

    change(original, "a brand new passphrase")
    tab.goto("/webhooks")  # still signed in after the change
    tab.goto("/account/password")
    change("a brand new passphrase", original)


def test_the_new_pages_fit_a_375px_screen(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver
) -> None:
    webhook_id = server.create_webhook("Customer relationship system", receiver.url(), [RECEIPT])
    publish(server, RECEIPT, "mobile-order-with-a-rather-long-producer-identifier-0001")
    delivered(server, webhook_id, 1)
    tab = open_tab(login="member", viewport=MOBILE)
    for path in (
        "/events",
        "/audit",
        f"/webhooks/{webhook_id}/edit",
        f"/webhooks/{webhook_id}/recover",
        "/account/password",
    ):
        tab.goto(path)
        width = tab.scroll_width()
        assert width <= MOBILE["width"], f"{path}: {width}px wide"
