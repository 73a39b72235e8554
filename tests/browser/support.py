"""What the browser tests share besides fixtures: topics, texts, and a member's steps."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from hookline.web.i18n import Translator
from tests.browser.conftest import Tab

RECEIPT = "receipt.receipt_validated"
POINTS = "prize.points_added"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=_-]+")
EN = Translator("en")


def create_in_form(tab: Tab, name: str, url: str, topics: tuple[str, ...] = (RECEIPT,)) -> str:
    """Fill the create form and submit it; returns the new webhook's id."""
    page = tab.page
    tab.goto("/webhooks/new")
    page.fill("#name", name)
    page.fill("#url", url)
    for topic in topics:
        page.check(f"input[name=topics][value='{topic}']")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    match = re.fullmatch(re.escape(tab.url("/webhooks/")) + r"(wh_\w+)\?notice=created", page.url)
    assert match, f"not on the new webhook's page: {page.url}"
    return match.group(1)


def uncover_secret(page: Page) -> str:
    """On a details page with the secret still covered: uncover it (htmx swaps #secret
    in place) and return it."""
    expect(page.locator("#secret-value")).to_have_count(0)
    page.click("#uncover-button")
    expect(page.locator("#secret-value")).to_have_text(SECRET)
    return page.locator("#secret-value").inner_text().strip()


def send_delivered_test(page: Page, topic: str) -> None:
    """On a details page: send a test of ``topic``; the verdict must say it was delivered."""
    page.select_option("#test-topic", topic)
    page.click("#send-test")
    expect(page.locator("#test-status")).to_have_text("200")
    verdict = page.locator("#verdict")
    expect(verdict).to_have_text(EN("verdict.delivered", status=200))
    expect(verdict).to_have_class(re.compile(r"\bok\b"))
