"""The alert settings pages in a real browser, on a laptop and a 375 px phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import ViewportSize, expect

from tests.browser.conftest import DESKTOP, MOBILE, OpenTab, Shots
from tests.browser.support import EN, SECRET


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["1280px", "375px"])
def test_a_member_turns_alert_emails_off_and_back_on(
    open_tab: OpenTab, shots: Shots, viewport: ViewportSize
) -> None:
    tab = open_tab(login="member", viewport=viewport)
    page = tab.page
    with page.expect_navigation():
        page.click("header a[href='/settings']")
    expect(page.locator("#email_alerts")).to_be_checked()
    assert tab.scroll_width() <= viewport["width"]
    page.uncheck("#email_alerts")
    page.select_option("#language", "zh-TW")
    with page.expect_navigation():
        page.click("#save-settings")
    expect(page.locator("#notice")).to_have_text(EN("settings.saved"))
    expect(page.locator("#email_alerts")).not_to_be_checked()
    expect(page.locator("#language")).to_have_value("zh-TW")
    shots.save(page, f"17-settings-{viewport['width']}")
    page.check("#email_alerts")
    with page.expect_navigation():
        page.click("#save-settings")
    expect(page.locator("#email_alerts")).to_be_checked()


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["1280px", "375px"])
def test_the_operator_sets_the_operational_webhook(
    open_tab: OpenTab, viewport: ViewportSize
) -> None:
    tab = open_tab(login="operator", viewport=viewport)
    page = tab.page
    with page.expect_navigation():
        page.click("header a[href='/operator/alerts']")
    page.fill("#url", "http://127.0.0.1:9/ops")
    with page.expect_navigation():
        page.click("#save-ops-webhook")
    expect(page.locator("#new-secret-value")).to_have_text(SECRET)
    assert tab.scroll_width() <= viewport["width"]
    page.fill("#url", "")
    with page.expect_navigation():
        page.click("#save-ops-webhook")
    expect(page.locator("#notice")).to_have_text(EN("operator.alerts.cleared"))
