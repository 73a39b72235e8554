"""The dashboard inside another site's page: a portal link in an iframe, then the tutorial.

A real ``hookline serve --demo`` with ``HOOKLINE_FRAME_ANCESTORS`` naming the embedding
page's origin, ``http://localhost:<port>``: another site than ``http://127.0.0.1``
(the dashboard's), so the frame is cross-site and its session cookie must be
``SameSite=None; Secure``. Chromium counts loopback as potentially trustworthy, so a
Secure cookie set over plain http by 127.0.0.1 is kept (this test is what verifies it).
The default server (conftest's) keeps refusing to be framed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Frame, expect

from hookline.web.i18n import Translator
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.support import EN, RECEIPT, SECRET
from tests.support.process import free_port
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import DemoServer, demo_server

ZH = Translator("zh-TW")
EMBED_PORT = free_port()
EMBED_ORIGIN = f"http://localhost:{EMBED_PORT}"


@pytest.fixture(scope="module")
def framed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """Its environment is copied when it starts: the variable is gone again after, so
    the module's default ``server`` (started later) refuses framing as it should."""
    with contextlib.ExitStack() as stack:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HOOKLINE_FRAME_ANCESTORS", EMBED_ORIGIN)
            started = stack.enter_context(demo_server(tmp_path_factory.mktemp("portal") / "var"))
        yield started


class Embedder:
    """The operator's own product: ``/embed`` on another origin frames ``src``."""

    def __init__(self) -> None:
        self.src = "about:blank"
        self.receiver = Receiver()
        self.receiver.policy = self.answer

    def answer(self, _request: Received) -> Answer:
        html = (
            "<!doctype html><title>Operator product</title><h1>Your webhooks</h1>"
            f'<iframe id="hooks" src="{self.src}" style="width:1200px;height:900px"></iframe>'
        )
        return Answer(200, html, (("Content-Type", "text/html; charset=utf-8"),))

    def page_for(self, src: str) -> str:
        self.src = src
        return f"{EMBED_ORIGIN}/embed"


@pytest.fixture(scope="module")
def embedder() -> Iterator[Embedder]:
    embedding = Embedder()
    with embedding.receiver.running(port=EMBED_PORT):
        yield embedding


def portal_url(server: DemoServer, email: str) -> str:
    op = {"Authorization": f"Bearer {server.creds['operator_token']}"}
    r = httpx.post(
        f"{server.base}/v1/admin/platforms/{server.creds['platform_id']}/portal-links",
        json={"email": email, "ttl_seconds": 120},
        headers=op,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    url: str = r.json()["url"]
    assert url.startswith(server.base + "/portal/")
    return url


def open_embedded(
    browser: Browser, server: DemoServer, embedder: Embedder, email: str, locale: str
) -> Frame:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(embedder.page_for(portal_url(server, email)))
    frame = page.frame_locator("#hooks")
    expect(frame.locator("#working-count")).to_be_visible()
    inner = page.frames[1]
    assert inner.url == server.base + "/webhooks"
    assert not problems, problems
    return inner


@pytest.mark.parametrize(("locale", "t"), [("en-US", EN), ("zh-TW", ZH)])
def test_the_tutorial_inside_another_sites_frame(
    browser: Browser,
    framed_server: DemoServer,
    embedder: Embedder,
    receiver: Receiver,
    locale: str,
    t: Translator,
) -> None:
    for webhook in framed_server.webhooks():
        with framed_server.api() as api:
            api.delete(f"/v1/webhooks/{webhook['id']}")
    frame = open_embedded(
        browser, framed_server, embedder, f"embedded-{locale}@coffee.example", locale
    )
    expect(frame.locator("#working-count")).to_have_text(t("list.working", working=0, limit=3))

    # create a webhook in the frame: a form POST that needs the framed session and CSRF
    frame.click("a[href='/webhooks/new']")
    frame.wait_for_url(framed_server.base + "/webhooks/new")
    frame.fill("#name", "CRM")
    frame.fill("#url", receiver.url(f"/framed-{locale}"))
    frame.check(f"input[name=topics][value='{RECEIPT}']")
    with frame.expect_navigation():
        frame.click("main form button[type=submit]")
    assert "?notice=created" in frame.url
    expect(frame.locator("#notice")).to_have_text(t("notice.created"))

    # uncover the secret (htmx, with the CSRF header) and send a test that is delivered
    frame.click("#uncover-button")
    expect(frame.locator("#secret-value")).to_have_text(SECRET)
    frame.select_option("#test-topic", RECEIPT)
    frame.click("#send-test")
    expect(frame.locator("#test-status")).to_have_text("200")
    receiver.wait_for(lambda r: len(r.received(f"/framed-{locale}")) == 1)
    assert json.loads(receiver.received(f"/framed-{locale}")[0].body)["topic"] == RECEIPT


def test_a_used_link_is_refused_in_the_frame(
    browser: Browser, framed_server: DemoServer, embedder: Embedder
) -> None:
    url = portal_url(framed_server, "once@coffee.example")
    assert httpx.get(url, timeout=10).status_code == 303  # spent, as a link scanner would
    context = browser.new_context()
    page = context.new_page()
    page.goto(embedder.page_for(url))
    expect(page.frame_locator("#hooks").get_by_role("alert")).to_have_text(
        EN("error.portal_link_used")
    )
    context.close()


def test_the_default_server_cannot_be_framed(
    browser: Browser, server: DemoServer, framed_server: DemoServer, embedder: Embedder
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(embedder.page_for(f"{server.base}/login"), wait_until="load")  # frames too
    assert len(page.frames) == 2
    # blocked (frame-ancestors 'none'): the frame shows Chromium's error, not the form,
    # which the same page shows from the framed server (the test above)
    assert page.frames[1].locator("#email").count() == 0
    page.goto(embedder.page_for(f"{framed_server.base}/login"), wait_until="load")
    assert page.frames[1].locator("#email").count() == 1
    context.close()
