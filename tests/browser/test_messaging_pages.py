"""The Open API messages pages in Chromium: connect LINE, edit a template, see events.

At 1280 px and on a 375 px phone, in both languages, with no request leaving the
server's origin and no script or CSP error (checked by ``open_tab``).
"""

from __future__ import annotations

from playwright.sync_api import expect

from hookline.web.i18n import Translator
from tests.browser.conftest import DESKTOP, MOBILE, OpenTab, Shots
from tests.support.server import DemoServer

EN = Translator("en")
ZH = Translator("zh-TW")


def test_a_marketer_connects_line_saves_a_template_and_creates_an_event(
    open_tab: OpenTab, server: DemoServer, shots: Shots
) -> None:
    tab = open_tab(login="member", viewport=DESKTOP)
    page = tab.page
    tab.goto("/messaging")
    page.fill("#channel_access_token", server.printed("LINE token"))
    with page.expect_navigation():
        page.click("#line-save")
    expect(page.locator("#line-state .ok")).to_have_text(EN("messaging.line.connected"))

    with page.expect_navigation():
        page.click("#template-new")
    page.fill("#name", "Winter sale")
    with page.expect_navigation():
        page.click("#template-save")
    expect(page.locator("tr[data-template]")).to_have_count(1)

    page.fill("#event-name", "Winter 2026")
    with page.expect_navigation():
        page.click("#event-create")
    expect(page.locator("tr[data-event] [data-figure='opens']")).to_have_text("0")
    assert tab.scroll_width() <= DESKTOP["width"]
    shots.save(page, "16-messaging")

    page.set_viewport_size(MOBILE)
    for path in ("/messaging", "/messaging/templates/new"):
        tab.goto(path)
        assert tab.scroll_width() <= MOBILE["width"], f"{path} is wider than 375 px"


def test_the_pages_in_traditional_chinese(open_tab: OpenTab) -> None:
    tab = open_tab(login="member", viewport=MOBILE, locale="zh-TW")
    tab.goto("/messaging")
    expect(tab.page.locator("h1")).to_have_text(ZH("messaging.title"))
    assert tab.scroll_width() <= MOBILE["width"]
