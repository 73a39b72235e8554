"""Long names and URLs on a laptop and a phone, in both languages: nothing cramps.

New users saw the list break status "500" into "50/0", URLs break mid-word and buttons
take two lines. Here the boxes are measured in Chromium at 1280 px and 375 px: no word
of Latin letters or digits spans two lines, no button wraps, the page never scrolls
sideways, nothing sticks out of its card, and a long name or URL is cut with an
ellipsis and shown whole in its tooltip (``title``).
"""

from __future__ import annotations

from typing import Any

import httpx

from hookline.catalog import TOPICS
from hookline.web.i18n import Translator
from tests.browser.conftest import DESKTOP, MOBILE, OpenTab, Shots, Tab
from tests.browser.support import POINTS, RECEIPT
from tests.support.process import wait_until
from tests.support.receiver import Answer, Receiver
from tests.support.server import DemoServer

LONG_NAME = "Customer relationship management synchronisation for the spring receipt campaign"
LONG_ZH_NAME = "春季發票登錄活動會員點數與顧客關係管理系統同步服務正式環境"
LONG_PATH = "/integrations/maac/webhooks/receipt-campaign-2026-spring-edition/production"
QUERY = "?source=hookline&campaign=spring-2026&account=coffee-house-taipei"

# Every line box a piece of the page takes: rects whose vertical spans overlap are one
# line (an icon and the text beside it), a rect starting below the last line is another.
MEASURE = """
const lines = (range) => {
  const rects = Array.from(range.getClientRects()).filter(r => r.width > 0 && r.height > 0)
    .sort((a, b) => a.top - b.top);
  let count = 0, bottom = -Infinity;
  for (const r of rects) {
    if (r.top >= bottom - 2) { count += 1; bottom = r.bottom; }
    else { bottom = Math.max(bottom, r.bottom); }
  }
  return count;
};
const visible = (el) =>
  el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
"""

PROBLEMS = (
    """([scope, skip]) => {"""
    + MEASURE
    + """
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    problems.push(`the page is ${root.scrollWidth}px wide in a ${window.innerWidth}px window`);
  }
  for (const card of document.querySelectorAll(".card")) {
    if (visible(card) && card.scrollWidth > card.clientWidth + 1) {
      const title = (card.querySelector("h1, h2, th") || card).textContent.trim().slice(0, 40);
      problems.push(`the card "${title}" holds ${card.scrollWidth - card.clientWidth}px too much`);
    }
  }
  for (const el of document.querySelectorAll("button, .button")) {
    if (!visible(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    const n = lines(range);
    if (n > 1) problems.push(`button "${el.textContent.trim()}" takes ${n} lines`);
  }
  for (const area of scope ? document.querySelectorAll(scope) : []) {
    const walker = document.createTreeWalker(area, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const parent = node.parentElement;
      if (!parent || !visible(parent) || (skip && parent.closest(skip))) continue;
      for (const match of node.nodeValue.matchAll(/[A-Za-z0-9][A-Za-z0-9:._\\/?&=%-]*/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const n = lines(range);
        if (n > 1) problems.push(`"${match[0]}" breaks over ${n} lines`);
      }
    }
  }
  return problems;
}"""
)

MEASURE_ONE = (
    "(selector) => {"
    + MEASURE
    + """
  return Array.from(document.querySelectorAll(selector)).map(el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return lines(range);
  });
}"""
)

CLIPPED = """(selector) => Array.from(document.querySelectorAll(selector)).map(el => ({
  text: el.textContent.trim(),
  title: el.getAttribute("title"),
  cut: el.scrollWidth > el.clientWidth,
  ellipsis: getComputedStyle(el).textOverflow === "ellipsis",
  right: el.getBoundingClientRect().right,
}))"""

SCREENS = [(DESKTOP, "en-US", "en"), (DESKTOP, "zh-TW", "zh-TW")]
SCREENS += [(MOBILE, "en-US", "en"), (MOBILE, "zh-TW", "zh-TW")]


def fits(tab: Tab, where: str, scope: str | None = "main", skip: str = "pre") -> None:
    """Nothing wraps that should not; words are looked at inside ``scope``, outside ``skip``."""
    found: list[str] = tab.page.evaluate(PROBLEMS, [scope, skip])
    assert found == [], f"{where}: " + "; ".join(found)


def ingest(server: DemoServer, topic: str) -> None:
    headers = {"Authorization": f"Bearer {server.creds['ingest_token']}"}
    event = {"platform_id": server.creds["platform_id"], "topic": topic}
    r = httpx.post(
        server.base + "/internal/v1/events",
        json={**event, "data": TOPICS[topic].sample},
        headers=headers,
        timeout=10,
    )
    assert r.status_code == 202, r.text


def retried(server: DemoServer, webhook_id: str) -> dict[str, Any]:
    """The webhook's one real delivery once it was tried three times (now, after 1 s, 2 s)."""
    found: list[dict[str, Any]] = []

    def done() -> bool:
        with server.api() as api:
            r = api.get(f"/v1/webhooks/{webhook_id}/deliveries")
        assert r.status_code == 200, r.text
        found[:] = r.json()["data"]
        return bool(found) and found[0]["attempts"] >= 3

    wait_until(f"three attempts of {webhook_id}'s delivery", done, 60)
    return found[0]


ZONE_2 = [name for name, topic in TOPICS.items() if topic.zone == 2]


def crowd(server: DemoServer, receiver: Receiver) -> dict[str, str]:
    """Long names and URLs, one in Chinese; one webhook whose real delivery got 500s."""
    receiver.policy = lambda r: (
        Answer(status=500, body="down") if "/failing" in r.path else Answer()
    )
    ids = {
        "long": server.create_webhook(
            LONG_NAME, receiver.url(LONG_PATH + QUERY), [RECEIPT, POINTS, *ZONE_2]
        ),
        "zh": server.create_webhook(
            LONG_ZH_NAME, receiver.url(LONG_PATH + "/zh" + QUERY), [POINTS]
        ),
        "failing": server.create_webhook(
            "Loyalty", receiver.url("/failing/loyalty-points-service"), ["message.first_open"]
        ),
    }
    ingest(server, "message.first_open")
    ids["delivery"] = retried(server, ids["failing"])["id"]
    return ids


def test_long_values_fit_a_laptop_and_a_phone_in_both_languages(
    open_tab: OpenTab, server: DemoServer, receiver: Receiver, shots: Shots
) -> None:
    ids = crowd(server, receiver)
    failing = f"/webhooks/{ids['failing']}"
    for viewport, locale, lang in SCREENS:
        screen = f"{viewport['width']}px {lang}"
        t = Translator(lang)
        tab = open_tab(login="member", viewport=viewport, locale=locale)
        page = tab.page
        tab.goto("/webhooks")
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("tr[data-webhook]").count() == 3
        fits(tab, f"list, {screen}")
        if (viewport, lang) in ((DESKTOP, "en"), (MOBILE, "zh-TW")):
            shots.save(page, f"12-long-values-{viewport['width']}px-{lang}")

        # the status code of the failed delivery: one line, all three digits together
        code = page.locator(f"tr[data-webhook='{ids['failing']}'] code")
        assert code.inner_text() == "500"
        assert set(page.evaluate(MEASURE_ONE, "tr[data-webhook] code")) == {1}, screen

        names = page.evaluate(CLIPPED, "tr[data-webhook] a.clip")
        urls = page.evaluate(CLIPPED, "tr[data-webhook] td.url .clip")
        assert sorted(n["title"] for n in names) == sorted([LONG_NAME, LONG_ZH_NAME, "Loyalty"])
        for value in names + urls:
            assert value["title"] == value["text"] and value["ellipsis"], (screen, value)
            assert value["right"] <= viewport["width"], (screen, value)
        assert all(u["cut"] for u in urls if LONG_PATH in u["text"]), (screen, urls)
        assert [n["cut"] for n in names if n["text"] == LONG_NAME] == [True], screen
        if lang == "zh-TW":
            zone_1 = page.locator("tr[data-zone='1'] td").nth(1).inner_text()
            assert "、" in zone_1 and ", " not in zone_1

        tab.goto(f"/webhooks/{ids['long']}")
        fits(tab, f"details, {screen}", scope=None)

        tab.goto(f"{failing}/deliveries/{ids['delivery']}")
        response_cells = f"td[data-label='{t('test.response')}']"
        fits(tab, f"attempts, {screen}", scope="#attempts", skip=f"pre, {response_cells}")
        started = page.locator(f"#attempts td[data-label='{t('delivery.started')}']")
        times = [started.nth(i).inner_text() for i in range(started.count())]
        assert len(times) >= 3 and all(len(x) == len("2026-11-30 06:50:01") for x in times)
        assert len(set(times)) == len(times), f"attempts a second or more apart: {times}"

        tab.goto("/webhooks/new")
        fits(tab, f"create form, {screen}", scope=None)


def test_operator_pages_fit_and_the_zone_date_reads_as_the_page_shows_it(
    open_tab: OpenTab, server: DemoServer
) -> None:
    """The date field was a picker in the browser's locale (11/30/2027) beside 2027-11-30."""
    platform = f"/operator/platforms/{server.creds['platform_id']}"
    for viewport, locale, lang in SCREENS:
        screen = f"{viewport['width']}px {lang}"
        tab = open_tab(login="operator", viewport=viewport, locale=locale)
        page = tab.page
        tab.goto("/operator")
        fits(tab, f"platforms, {screen}", scope="table")
        tab.goto(platform)
        fits(tab, f"platform, {screen}", scope="#zones")
        field = page.locator("#zone-1-date")
        assert field.get_attribute("type") == "text"
        assert field.get_attribute("placeholder") == "YYYY-MM-DD"
        shown = page.locator("#zone-1-state .nowrap").inner_text()
        assert shown.startswith(field.input_value() + " "), (shown, field.input_value())

    # typed the way a US picker would show it: refused beside the field, in words
    page.fill("#zone-1-date", "11/30/2027")
    with page.expect_navigation():
        page.click("#zone-1-save")
    error = page.locator("#zone-1-error")
    assert error.inner_text() == Translator("zh-TW")("operator.field.invalid_date")
    assert page.locator("#zone-1-date").get_attribute("aria-invalid") == "true"


def test_an_unknown_address_is_a_styled_page_in_the_readers_language(
    open_tab: OpenTab, server: DemoServer
) -> None:
    for locale, lang in (("en-US", "en"), ("zh-TW", "zh-TW")):
        t = Translator(lang)
        tab = open_tab(locale=locale)
        response = tab.page.goto(tab.url("/webhook/typo"))
        assert response is not None and response.status == 404
        assert tab.page.locator("html").get_attribute("lang") == lang
        assert tab.page.locator("h1").inner_text() == t("error.not_found_title")
        assert tab.page.get_by_role("alert").inner_text() == t("error.not_found")
        card = tab.page.locator("section.card")
        assert card.evaluate("el => getComputedStyle(el).borderRadius") == "8px"  # app.css
        home = tab.page.get_by_role("link", name=t("error.home"))
        assert home.get_attribute("href") == "/"
    # the same address from an API client is still a problem document
    r = httpx.get(server.base + "/webhook/typo", timeout=10)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
