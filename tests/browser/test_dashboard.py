"""The dashboard in a real browser: a marketer's whole day, both languages, a phone.

Against ``hookline serve --demo`` (a subprocess) and a loopback receiver; every page
is clicked through as a person would, including the confirm dialogs and the htmx
swaps. Fixtures: tests/browser/conftest.py. ``HOOKLINE_SCREENSHOTS=1`` refreshes
docs/screenshots/.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from string import Formatter

import httpx
import pytest
from playwright.sync_api import Page, expect

from hookline.web.i18n import Translator, catalog
from tests.browser.conftest import MOBILE, OpenTab, Shots
from tests.browser.support import (
    EN,
    POINTS,
    RECEIPT,
    SECRET,
    create_in_form,
    send_delivered_test,
    uncover_secret,
)
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import DemoServer

ZH = Translator("zh-TW")
CJK = re.compile(r"[\u4e00-\u9fff]")

# The words a person reads: text outside <pre>/<code> (user data, wire samples) plus
# the labels assistive technology reads out.
UI_TEXT = """() => {
  const parts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement && node.parentElement.closest("pre, code, script, style")) continue;
    parts.push(node.nodeValue);
  }
  for (const el of document.querySelectorAll("[aria-label], [title], [placeholder]")) {
    for (const name of ["aria-label", "title", "placeholder"]) {
      const value = el.getAttribute(name);
      if (value) parts.push(value);
    }
  }
  return parts.join("\\n");
}"""


def header(received: Received, name: str) -> str:
    for key, value in received.headers.items():
        if key.lower() == name.lower():
            return value
    raise AssertionError(f"no {name} header in {sorted(received.headers)}")


def assert_signed(received: Received, secret: str) -> None:
    """MAAC's scheme: hex HMAC-SHA256 of the raw body, keyed by the secret's text."""
    expected = hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(header(received, "CrescLab-Signature"), expected)


def english_left(page: Page) -> list[str]:
    """English catalog texts showing on a page that should be all Chinese."""
    text = page.evaluate(UI_TEXT)
    en, zh = catalog("en"), catalog("zh-TW")
    everything_zh = "\n".join(zh.values())
    found = []
    for key, value in en.items():
        chunks = [c.strip() for c, *_ in Formatter().parse(value)]
        zh_text = zh.get(key) or zh[re.sub(r"\.one$", ".other", key)]  # one Chinese plural form
        for chunk in chunks if len(chunks) > 1 else [value]:
            if len(chunk) < 4 or chunk == zh_text or chunk in everything_zh:
                continue
            if re.search(rf"(?<![A-Za-z]){re.escape(chunk)}(?![A-Za-z])", text):
                found.append(f"{key}: {chunk!r}")
    return found


# --- sign in ---------------------------------------------------------------------------


def test_login_form_works_with_the_keyboard(
    open_tab: OpenTab, server: DemoServer, shots: Shots
) -> None:
    tab = open_tab()
    page = tab.page
    tab.goto("/")
    assert page.url == tab.url("/login")
    expect(page.locator("h1")).to_have_text(EN("login.title"))
    shots.save(page, "01-login")

    def tab_to(element_id: str, most: int = 12) -> None:
        for _ in range(most):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
                return
        pytest.fail(f"#{element_id} not reached with {most} presses of Tab")

    tab_to("email")
    page.keyboard.type(server.creds["member_email"])
    tab_to("password", most=1)
    page.keyboard.type("not the password")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text(EN("login.invalid"))
    expect(page.locator("#email")).to_have_value(server.creds["member_email"])

    page.focus("#password")
    page.keyboard.type(server.creds["member_password"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == tab.url("/webhooks")
    assert page.evaluate("document.cookie") == ""  # session and CSRF cookies are HttpOnly

    with page.expect_navigation():
        page.get_by_role("button", name=EN("nav.logout")).click()
    assert page.url == tab.url("/login")
    tab.goto("/webhooks")
    assert page.url == tab.url("/login?next=/webhooks")


def test_empty_list_and_a_field_error(open_tab: OpenTab, server: DemoServer, shots: Shots) -> None:
    tab = open_tab(login="member")
    page = tab.page
    assert page.url == tab.url("/webhooks")
    empty = page.locator("#empty-state")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text(EN("list.empty_title"))
    expect(empty).to_contain_text(EN("list.empty_body"))
    expect(empty.get_by_role("link", name=EN("list.empty_docs"))).to_have_attribute(
        "href", "/help/engineers"
    )
    expect(page.locator("#working-count")).to_have_text(EN("list.working", working=0, limit=3))
    shots.save(page, "02-list-empty")

    with page.expect_navigation():
        page.click("#create-button")
    assert page.url == tab.url("/webhooks/new")
    page.fill("#name", "CRM")
    page.fill("#url", "not a url")
    page.check(f"input[name=topics][value='{RECEIPT}']")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page.locator("#url-error")).to_have_text(EN("field.url_invalid"))
    expect(page.locator("#url")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name")).to_have_value("CRM")  # what was typed is kept
    expect(page.locator("#url")).to_have_value("not a url")
    expect(page.locator(f"input[name=topics][value='{RECEIPT}']")).to_be_checked()
    shots.save(page, "03-create-field-error")
    assert server.webhooks() == []


# --- a webhook from creation to deletion -----------------------------------------------


def test_a_webhook_from_creation_to_deletion(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver, shots: Shots
) -> None:
    tab = open_tab(login="member")
    page = tab.page
    url = receiver.url("/crm")
    webhook_id = create_in_form(tab, "CRM", url, topics=(RECEIPT, POINTS))
    expect(page.locator("#notice")).to_have_text(EN("notice.created"))

    # the list
    tab.goto("/webhooks")
    row = page.locator(f"tr[data-webhook='{webhook_id}']")
    expect(row).to_contain_text("CRM")
    expect(row).to_contain_text(url)
    expect(row).to_contain_text(EN(f"topic.{RECEIPT}"))
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "working")
    expect(page.locator("#working-count")).to_have_text(EN("list.working", working=1, limit=3))
    expect(page.locator("#empty-state")).to_have_count(0)
    shots.save(page, "04-list")

    # details
    with page.expect_navigation():
        row.get_by_role("link", name="CRM", exact=True).click()
    assert page.url == tab.url(f"/webhooks/{webhook_id}")
    expect(page.locator("h1")).to_have_text("CRM")

    # uncover the secret (htmx swaps #secret in place)
    secret = uncover_secret(page)
    assert page.url == tab.url(f"/webhooks/{webhook_id}")

    # a test that is delivered
    send_delivered_test(page, RECEIPT)
    receiver.wait_for(lambda r: len(r.received("/crm")) == 1)
    got = receiver.received("/crm")[0]
    assert_signed(got, secret)
    assert header(got, "CrescLab-Test") == "true"
    assert json.loads(got.body)["topic"] == RECEIPT
    expect(page.locator("#test-body")).to_contain_text(RECEIPT)
    shots.save(page, "05-details-test-ok")

    # a test the receiver fails: the verdict says 500 and that real events are retried
    receiver.policy = lambda _r: Answer(500, "database unavailable")
    page.click("#send-test")
    expect(page.locator("#test-status")).to_have_text("500")
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("500")
    expect(verdict).to_contain_text("retry")
    expect(verdict).to_have_text(EN("verdict.retried", status=500))
    expect(page.locator("#test-response")).to_have_text("database unavailable")
    receiver.wait_for(lambda r: len(r.received("/crm")) == 2)
    shots.save(page, "06-details-test-failed")

    # both tests are kept in the delivery log, marked as tests; the list's "last
    # delivery" counts real events only (issue 15), so it still says nothing was sent
    tab.goto(f"/webhooks/{webhook_id}")
    log = page.locator("#deliveries tr[data-delivery]")
    expect(log).to_have_count(2)
    expect(log.nth(0)).to_contain_text(EN("state.failed"))
    expect(log.nth(0)).to_contain_text("500")
    expect(log.nth(1)).to_contain_text(EN("state.delivered"))
    expect(log.locator("[data-test='true']")).to_have_count(2)
    tab.goto("/webhooks")
    last = page.locator(f"tr[data-webhook='{webhook_id}'] td").nth(4)
    expect(last).to_contain_text(EN("list.never"))
    tab.goto(f"/webhooks/{webhook_id}")

    # stop, after confirming
    with page.expect_navigation():
        page.click("#stop-button")
    assert tab.dialogs[-1] == EN("detail.stop_confirm")
    assert page.url == tab.url(f"/webhooks/{webhook_id}?notice=stopped")
    expect(page.locator("#notice")).to_have_text(EN("notice.stopped"))
    expect(page.locator("#status [data-status]")).to_have_attribute("data-status", "stopped")
    expect(page.locator("#stop-button")).to_have_count(0)
    assert server.webhooks()[0]["status"] == "stopped"

    # resume
    with page.expect_navigation():
        page.click("#resume-button")
    assert tab.dialogs[-1] == EN("detail.resume_confirm")
    expect(page.locator("#notice")).to_have_text(EN("notice.resumed"))
    expect(page.locator("#status [data-status]")).to_have_attribute("data-status", "working")
    assert server.webhooks()[0]["status"] == "working"

    # change the secret, keeping the old one for an hour
    page.select_option("#grace", "3600")
    with page.expect_navigation():
        page.click("#change-secret-button")
    assert tab.dialogs[-1] == EN("secret.change_confirm")
    expect(page.locator("#notice")).to_have_text(EN("notice.secret_changed"))
    expect(page.locator("#secret-value")).to_have_text(SECRET)
    new_secret = page.locator("#secret-value").inner_text().strip()
    assert new_secret != secret
    # the new secret signs from now on; the old one still signs the Standard Webhooks header
    receiver.policy = lambda _r: Answer()
    page.click("#send-test")
    expect(page.locator("#test-status")).to_have_text("200")
    receiver.wait_for(lambda r: len(r.received("/crm")) == 3)
    got = receiver.received("/crm")[2]
    assert_signed(got, new_secret)
    assert len(header(got, "webhook-signature").split()) == 2

    # delete, after confirming
    with page.expect_navigation():
        page.click("#delete-button")
    assert tab.dialogs[-1] == EN("detail.delete_confirm")
    assert page.url == tab.url("/webhooks?notice=deleted")
    expect(page.get_by_role("status")).to_have_text(EN("notice.deleted"))
    expect(page.locator(f"tr[data-webhook='{webhook_id}']")).to_have_count(0)
    expect(page.locator("#empty-state")).to_be_visible()
    assert server.webhooks() == []


def test_create_is_disabled_at_the_limit(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver, shots: Shots
) -> None:
    tab = open_tab(login="member")
    page = tab.page
    names = ["CRM", "Loyalty points", "Survey sync"]
    for i, name in enumerate(names):
        create_in_form(tab, name, receiver.url(f"/limit/{i}"), topics=(RECEIPT,))
    tab.goto("/webhooks")
    expect(page.locator("tr[data-webhook]")).to_have_count(3)
    expect(page.locator("#working-count")).to_have_text(EN("list.working", working=3, limit=3))
    button = page.locator("#create-button")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("aria-describedby", "create-blocked")
    expect(page.locator("#create-blocked")).to_have_text(EN.plural("list.at_limit", 3, limit=3))
    shots.save(page, "07-list-at-limit")

    # the form, opened by its address, says so too and cannot be sent
    tab.goto("/webhooks/new")
    expect(page.get_by_role("alert")).to_have_text(EN.plural("list.at_limit", 3, limit=3))
    expect(page.locator("main form button[type=submit]")).to_be_disabled()
    assert len(server.webhooks()) == 3


# --- Traditional Chinese ---------------------------------------------------------------


def test_chinese_is_chosen_with_the_link_and_remembered(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver, shots: Shots
) -> None:
    webhook_id = server.create_webhook("CRM", receiver.url("/zh"), [RECEIPT])
    tab = open_tab(login="member")
    page = tab.page
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#create-button")).to_have_text(EN("list.create"))

    with page.expect_navigation():
        page.click("a[data-lang='zh-TW']")
    assert page.url == tab.url("/webhooks")

    def chinese_list() -> None:
        expect(page.locator("html")).to_have_attribute("lang", "zh-TW")
        expect(page.locator("#create-button")).to_have_text(ZH("list.create"))
        expect(page.locator("#zones-title")).to_have_text(ZH("zones.title"))
        expect(page.locator("#working-count")).to_have_text(ZH("list.working", working=1, limit=3))
        expect(page.locator("#webhooks th").first).to_have_text(ZH("list.name"))
        assert CJK.search(ZH("list.create"))
        assert "Create webhook" not in page.evaluate(UI_TEXT)
        assert english_left(page) == []

    chinese_list()
    page.reload()
    chinese_list()
    shots.save(page, "08-zh-TW-list")

    with page.expect_navigation():
        page.locator(f"tr[data-webhook='{webhook_id}']").get_by_role(
            "link", name="CRM", exact=True
        ).click()
    expect(page.locator("h1")).to_have_text("CRM")
    expect(page.locator("#uncover-button")).to_have_text(ZH("secret.uncover"))
    expect(page.locator("#stop-button")).to_have_text(ZH("detail.stop"))
    expect(page.locator("#delete-button")).to_have_text(ZH("detail.delete"))
    expect(page.locator("#change-secret-button")).to_have_text(ZH("secret.change"))
    expect(page.locator("#send-test")).to_have_text(ZH("test.send"))
    page.click("#send-test")
    expect(page.locator("#verdict")).to_have_text(ZH("verdict.delivered", status=200))
    assert english_left(page) == []
    shots.save(page, "09-zh-TW-details")

    # a new tab of the same browser remembers the choice; English is one click away
    second = tab.context.new_page()
    second.goto(tab.url("/webhooks/new"))
    expect(second.locator("h1")).to_have_text(ZH("new.title"))
    assert english_left(second) == []
    with second.expect_navigation():
        second.click("a[data-lang='en']")
    assert second.url == tab.url("/webhooks/new")
    expect(second.locator("h1")).to_have_text(EN("new.title"))
    second.close()


def test_the_language_link_works_on_the_page_after_changing_the_secret(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver
) -> None:
    """The page showing a new secret answers a POST; its links must still lead somewhere.

    The language link is ``/lang/zh-TW?next=<this page's path>``, and this page's path
    is the form's action, ``/webhooks/{id}/secret/change``, which has no GET.
    """
    webhook_id = server.create_webhook("CRM", receiver.url("/lang"), [RECEIPT])
    tab = open_tab(login="member")
    page = tab.page
    tab.goto(f"/webhooks/{webhook_id}")
    with page.expect_navigation():
        page.click("#change-secret-button")
    expect(page.locator("#secret-value")).to_have_text(SECRET)
    with page.expect_navigation() as navigation:
        page.click("a[data-lang='zh-TW']")
    response = navigation.value
    assert response is not None
    assert response.status < 400, f"{page.url} answered {response.status}"
    expect(page.locator("html")).to_have_attribute("lang", "zh-TW")
    expect(page.locator("h1")).to_have_text("CRM")


# --- security --------------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver
) -> None:
    tab = open_tab(login="member")
    form: dict[str, str | float | bool] = {
        "name": "Forged",
        "url": receiver.url("/forged"),
        "topics": RECEIPT,
    }
    r = tab.context.request.post(tab.url("/webhooks/new"), form=form, max_redirects=0)
    assert r.status == 403
    assert EN("error.csrf") in r.text()
    wrong = {**form, "csrf_token": "x" * 43}
    r = tab.context.request.post(tab.url("/webhooks/new"), form=wrong, max_redirects=0)
    assert r.status == 403
    assert server.webhooks() == []

    # the same request with the page's token goes through: the session was fine
    tab.goto("/webhooks/new")
    token = tab.page.locator("main input[name=csrf_token]").get_attribute("value")
    assert token
    r = tab.context.request.post(
        tab.url("/webhooks/new"), form={**form, "csrf_token": token}, max_redirects=0
    )
    assert r.status == 303
    assert [w["name"] for w in server.webhooks()] == ["Forged"]


# --- a phone ---------------------------------------------------------------------------


def test_a_375px_screen_needs_no_sideways_scrolling(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver, shots: Shots
) -> None:
    long_url = receiver.url("/integrations/maac/webhooks/receipt-campaign-2026?source=hookline")
    webhook_id = server.create_webhook(
        "Customer relationship management system", long_url, [RECEIPT, POINTS]
    )
    server.create_webhook("Loyalty", receiver.url("/loyalty"), [POINTS])
    tab = open_tab(viewport=MOBILE)
    page = tab.page

    def fits(where: str) -> None:
        width = tab.scroll_width()
        assert width <= MOBILE["width"], f"{where}: {width}px wide on a {MOBILE['width']}px screen"

    tab.goto("/login")
    fits("login")
    tab.login(server.creds["member_email"], server.creds["member_password"])
    tab.goto("/webhooks")
    expect(page.locator("tr[data-webhook]")).to_have_count(2)
    fits("list")
    shots.save(page, "11-mobile-list")

    tab.goto(f"/webhooks/{webhook_id}")
    fits("details")
    page.click("#uncover-button")
    expect(page.locator("#secret-value")).to_have_text(SECRET)
    page.click("#send-test")
    expect(page.locator("#test-status")).to_have_text("200")
    fits("details with a test result")
    tab.goto("/webhooks/new")
    fits("create form")


# --- operators -------------------------------------------------------------------------


def test_an_operator_sets_up_a_platform_its_member_can_use(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver, shots: Shots
) -> None:
    server.create_webhook("CRM", receiver.url("/op"), [RECEIPT])
    tab = open_tab(login="operator")
    page = tab.page
    assert page.url == tab.url("/operator")
    demo = page.locator(f"tr[data-platform='{server.creds['platform_id']}']")
    expect(demo).to_contain_text("Demo platform")
    expect(demo).to_contain_text(EN("operator.list.working_value", working=1, limit=3))
    expect(demo.locator("[data-zone-state]")).to_have_count(3)  # zones 1, 2 and 3
    for state in demo.locator("[data-zone-state]").all():
        expect(state).to_have_attribute("data-zone-state", "valid")
    shots.save(page, "10-operator-platforms")

    # member pages are not an operator's
    closed = page.goto(tab.url("/webhooks"))
    assert closed is not None and closed.status == 403
    expect(page.get_by_role("alert")).to_have_text(EN("error.not_allowed"))

    # a new platform: its API token is shown once and works
    tab.goto("/operator")
    page.fill("#name", "Tea House")
    page.fill("#webhook_limit", "2")
    with page.expect_navigation():
        page.click("#create-platform")
    expect(page.locator("h1")).to_have_text("Tea House")
    expect(page.locator("#notice")).to_have_text(EN("operator.notice.created"))
    token = page.locator("#new-token-value").inner_text().strip()
    assert token.startswith("hlp_")
    r = httpx.get(tab.url("/v1/platform"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text
    platform_id = r.json()["id"]
    assert r.json()["webhook_limit"] == 2
    assert [z["valid"] for z in r.json()["zones"]] == [False, False, False]

    # zone 1 bought until the end of next year; a member who can log in
    next_year = datetime.now(UTC).year + 1
    page.fill("#zone-1-date", f"{next_year}-12-31")
    with page.expect_navigation():
        page.click("#zone-1-save")
    assert page.url == tab.url(f"/operator/platforms/{platform_id}?notice=zone_set")
    expect(page.locator("#zone-1-state [data-zone-state]")).to_have_attribute(
        "data-zone-state", "valid"
    )
    expect(page.locator("#zone-1-state")).to_contain_text(f"{next_year}-12-31")
    page.fill("#email", "mia@tea.example")
    page.fill("#password", "a long enough password")
    with page.expect_navigation():
        page.click("#create-user")
    expect(page.locator("#notice")).to_have_text(EN("operator.notice.user_created"))
    expect(page.locator("#users")).to_contain_text("mia@tea.example")

    member = open_tab()
    member.login("mia@tea.example", "a long enough password")
    assert member.page.url == member.url("/webhooks")
    expect(member.page.locator("#working-count")).to_have_text(
        EN("list.working", working=0, limit=2)
    )
    expect(member.page.locator("tr[data-zone='1'] .ok")).to_contain_text(f"{next_year}-12-31")
    expect(member.page.locator("tr[data-zone='2'] .bad")).to_have_text(
        EN("zone.not_purchased_word")
    )

    # both operator pages fit a phone too
    page.set_viewport_size(MOBILE)
    for path in ("/operator", f"/operator/platforms/{platform_id}"):
        tab.goto(path)
        width = tab.scroll_width()
        assert width <= MOBILE["width"], f"{path}: {width}px wide on a 375px screen"
