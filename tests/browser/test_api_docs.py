"""/docs renders in a browser with nothing but this server: no CDN, no CSP violation.

The ``open_tab`` fixture fails the test on any request to another origin and on any
console error (a Content-Security-Policy violation included).
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import OpenTab


def test_swagger_ui_works_offline_under_its_policy(open_tab: OpenTab) -> None:
    tab = open_tab()
    tab.goto("/docs")
    expect(tab.page.locator(".opblock").first).to_be_visible()
    assert tab.page.locator(".opblock").count() > 10  # every route of the API is listed
    tab.page.locator(".opblock-summary").first.click()
    expect(tab.page.locator(".opblock-body").first).to_be_visible()
