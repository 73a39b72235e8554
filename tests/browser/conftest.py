"""A real browser (Debian's Chromium, driven by Playwright) against a real server.

One browser for the package, one ``hookline serve --demo`` subprocess per module (a
temporary data dir, a free loopback port), one loopback receiver per module, and a
fresh browser context per test. Each test starts from a platform without webhooks
(deleted through the JSON API), so the tests do not depend on their order.

Without Chromium the tests skip locally, saying why; with ``CI=true`` they fail (.ci/run
installs it). Screenshots go to a temporary folder unless ``HOOKLINE_SCREENSHOTS=1``,
which writes them to ``docs/screenshots/`` for the README.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

from tests.conftest import IN_CI
from tests.support.receiver import Answer, Receiver
from tests.support.server import DemoServer, demo_server

CHROMIUM = Path(os.environ.get("HOOKLINE_TEST_CHROMIUM", "/usr/bin/chromium"))
# This machine (and CI) has no outside network: no background calls, no QUIC probes.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Tests resolve no outside name (tests/support/offline_dns.py): Chromium's own
    # resolver answers every name but localhost "not found" at once. The rule covers
    # addresses written out too, so the loopback ones the tests' servers use are kept.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO / "docs" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
MOBILE: ViewportSize = {"width": 375, "height": 812}
TIMEOUT_MS = 15_000


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = (
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium`"
            " (or point HOOKLINE_TEST_CHROMIUM at a Chromium binary)"
        )
        if IN_CI:
            pytest.fail(message + " (CI=true: the browser tests must run, not skip)")
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with demo_server(tmp_path_factory.mktemp("browser") / "var") as s:
        yield s


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as r:
        yield r


@pytest.fixture(autouse=True)
def fresh_platform(request: pytest.FixtureRequest) -> None:
    """No webhooks; a receiver answering 200 with nothing recorded: one start for every test."""
    if "server" in request.fixturenames:
        server: DemoServer = request.getfixturevalue("server")
        server.delete_all_webhooks()
    if "receiver" in request.fixturenames:
        receiver: Receiver = request.getfixturevalue("receiver")
        receiver.policy = lambda _r: Answer()
        with receiver._cond:
            receiver.requests.clear()


@dataclass
class Tab:
    """One browser context and its page, with everything it asked for and complained about."""

    context: BrowserContext
    page: Page
    base: str
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def goto(self, path: str) -> None:
        response = self.page.goto(self.url(path))
        assert response is not None
        assert response.status < 400, f"GET {path} answered {response.status}"

    def login(self, email: str, password: str) -> None:
        self.goto("/login")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        with self.page.expect_navigation():
            self.page.click("main form button[type=submit]")
        assert "/login" not in self.page.url, f"login as {email} failed: {self.page.url}"

    def scroll_width(self) -> int:
        width: int = self.page.evaluate("document.documentElement.scrollWidth")
        return width


class Shots:
    """Screenshots under stable names; kept in the repository only when asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, page: Page, name: str, *, full_page: bool = True) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        assert path.stat().st_size > 0
        return path


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Shots:
    if os.environ.get("HOOKLINE_SCREENSHOTS", "") in ("1", "true", "yes"):
        return Shots(SCREENSHOT_DIR)
    return Shots(tmp_path_factory.mktemp("screenshots"))


OpenTab = Callable[..., Tab]


@pytest.fixture
def open_tab(browser: Browser, server: DemoServer) -> Iterator[OpenTab]:
    """``open_tab(login="member"|"operator"|None, viewport=..., locale=...)`` -> a new Tab.

    After the test, every tab must have stayed on the server's origin (no request to
    anywhere else) and must have had no script error or Content-Security-Policy
    violation.
    """
    tabs: list[Tab] = []

    def open_(
        login: str | None = None, viewport: ViewportSize | None = None, locale: str = "en-US"
    ) -> Tab:
        context = browser.new_context(viewport=viewport or DESKTOP, locale=locale)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        tab = Tab(context, page, server.base)
        context.on("request", lambda req: tab.requests.append(req.url))
        page.on("pageerror", lambda exc: tab.problems.append(f"page error: {exc}"))

        def on_console(msg: ConsoleMessage) -> None:
            text = msg.text
            if msg.type == "error" and "Failed to load resource" not in text:
                tab.problems.append(f"console error: {text}")

        page.on("console", on_console)

        def on_dialog(dialog: Any) -> None:
            tab.dialogs.append(dialog.message)
            dialog.accept()

        page.on("dialog", on_dialog)
        tabs.append(tab)
        if login == "member":
            tab.login(server.creds["member_email"], server.creds["member_password"])
        elif login == "operator":
            tab.login(server.creds["operator_email"], server.creds["operator_password"])
        return tab

    yield open_
    try:
        for tab in tabs:
            home = server.base + "/"
            foreign = [u for u in tab.requests if not u.startswith(home)]
            assert not foreign, f"requests left {server.base}: {foreign}"
            assert not tab.problems, "\n".join(tab.problems)
    finally:
        for tab in tabs:
            tab.context.close()
