"""The SurveyCake page in a real browser: connect, answers that fail or are unlinked, a phone.

Against ``hookline serve --demo`` (its worker processes run the SurveyCake job) and a
fake SurveyCake on loopback. ``HOOKLINE_SCREENSHOTS=1`` refreshes the screenshots
docs/surveycake.md shows.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from hookline.devtools.fake_surveycake import FakeSurveyCake, demo_answer
from hookline.web.i18n import Translator
from tests.browser.conftest import MOBILE, OpenTab, Shots, Tab
from tests.support.process import wait_until
from tests.support.server import DemoServer

EN = Translator("en")
SVID = "hlDemo"
KEY, IV = "0123456789abcdef", "fedcba9876543210"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSurveyCake]:
    with FakeSurveyCake().running() as f:
        yield f


def answered(server: DemoServer, count: int) -> None:
    """Wait until the worker has settled ``count`` answers."""

    def settled() -> bool:
        with server.api() as api:
            rows = api.get("/v1/surveycake/notifications", params={"svid": SVID}).json()["data"]
        return len(rows) >= count and all(r["state"] != "pending" for r in rows)

    wait_until("the answers settled", settled, timeout=30)


def notify(intake: str, answer_hash: str) -> int:
    """SurveyCake's form post (Playwright's own loop rules out the fake's async one)."""
    return httpx.post(intake, data={"svid": SVID, "hash": answer_hash}, timeout=10).status_code


def connect_in_form(tab: Tab, fake: FakeSurveyCake) -> str:
    page = tab.page
    tab.goto("/surveycake")
    page.fill("#svid", SVID)
    page.fill("#name", "2026 會員滿意度調查")
    page.fill("#hash_key", KEY)
    page.fill("#iv_key", IV)
    page.fill("#base_url", fake.base_url)
    with page.expect_navigation():
        page.click("#connect-title ~ form button[type=submit]")
    expect(page.locator("p.alert.ok")).to_have_text(EN("surveycake_notice.connected"))
    return page.locator("#intake-url").input_value()


def test_a_marketer_connects_a_survey_and_sees_what_came_of_its_answers(
    open_tab: OpenTab, server: DemoServer, fake: FakeSurveyCake, shots: Shots
) -> None:
    tab = open_tab(login="member")
    page = tab.page
    fake.add_survey(SVID, KEY, IV)
    intake = connect_in_form(tab, fake)
    assert intake.startswith(server.base + "/intake/surveycake/")
    expect(page.locator(f"tr[data-svid={SVID}]")).to_contain_text(EN("surveycake.surveys.ok"))

    linked = fake.submit(SVID, demo_answer(svid=SVID))
    unlinked = fake.submit(SVID, demo_answer(None, svid=SVID))
    for answer_hash in (linked, unlinked):
        assert notify(intake, answer_hash) == 200
    answered(server, 2)
    page.click(f"tr[data-svid={SVID}] button:has-text('{EN('surveycake_check.button')}')")
    expect(page.locator("#check-result")).to_have_text(EN("surveycake_check.ok", svid=SVID))
    fake.add_survey(SVID, "x" * 16, "y" * 16)  # the keys were changed in SurveyCake
    broken = fake.submit(SVID, demo_answer(svid=SVID))
    assert notify(intake, broken) == 200
    answered(server, 3)
    tab.goto("/surveycake")
    expect(page.locator("#failed tr[data-notification]")).to_have_count(1)
    expect(page.locator("#failed")).to_contain_text(EN("surveycake_failure.wrong_keys"))
    expect(page.locator("#unlinked tr[data-notification]")).to_have_count(1)
    expect(page.locator(f"tr[data-svid={SVID}]")).to_contain_text(
        EN("surveycake_failure.wrong_keys")
    )
    shots.save(page, "13-surveycake")

    zh = open_tab(login="member", locale="zh-TW")
    zh.goto("/lang/zh-TW?next=/surveycake")
    expect(zh.page.locator("h1")).to_have_text(Translator("zh-TW")("surveycake.title"))
    shots.save(zh.page, "14-zh-TW-surveycake")

    phone = open_tab(login="member", viewport=MOBILE)
    phone.goto("/surveycake")
    width = phone.scroll_width()
    assert width <= MOBILE["width"], f"{width}px wide on a {MOBILE['width']}px screen"
    shots.save(phone.page, "15-mobile-surveycake")
    with server.api() as api:
        assert api.delete(f"/v1/surveycake/surveys/{SVID}").status_code == 204
