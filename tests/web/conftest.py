"""A signed-in dashboard over a real app and database (both backends)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hookline.app import create_app
from hookline.config import Settings
from hookline.domain.models import Role
from hookline.services import platforms, users
from hookline.services.context import Context
from tests.conftest import FakeClock

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@dataclass
class Dashboard:
    client: TestClient
    platform_id: str
    email: str

    def login(self, email: str | None = None, password: str = PASSWORD) -> None:
        page = self.client.get("/login")
        r = self.client.post(
            "/login",
            data={
                "email": email or self.email,
                "password": password,
                "csrf_token": csrf_of(page.text),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text

    def post(self, path: str, data: dict[str, object] | None = None, page: str | None = None):
        """POST a form the way the browser does: with the page's CSRF token."""
        html = self.client.get(page or "/webhooks").text
        form = {"csrf_token": csrf_of(html), **(data or {})}
        return self.client.post(path, data=form, follow_redirects=False)


def make_platform(
    ctx: Context, clock: FakeClock, name: str = "Coffee", zones: tuple[int, ...] = (1, 2)
) -> str:
    platform = platforms.create_platform(ctx, name).platform
    for zone in zones:
        platforms.set_zone(ctx, platform.id, zone, clock.now + timedelta(days=30))
    return platform.id


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its real cost would make every login here take a noticeable while."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def app_client(ctx: Context) -> Iterator[TestClient]:
    settings = Settings(operator_token=SecretStr("hlo_x"), allow_http=True)
    with TestClient(create_app(settings, ctx), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def dashboard(ctx: Context, clock: FakeClock, app_client: TestClient) -> Dashboard:
    platform_id = make_platform(ctx, clock)
    users.create_user(
        ctx,
        email="mia@coffee.example",
        password=PASSWORD,
        role=Role.MEMBER,
        platform_id=platform_id,
    )
    dash = Dashboard(app_client, platform_id, "mia@coffee.example")
    dash.login()
    return dash


NAMES_AND_TERMS = {
    # brand, product and protocol names that Taiwanese pages keep in Latin letters
    *("hookline", "English", "Webhook", "Webhooks", "Standard", "LINE", "MAAC"),
    *("SurveyCake", "PNP", "SMS", "https", "HTTPS", "POST", "JSON", "Python", "IANA"),
    "Open",  # MAAC's "Open API", a product name
}


def english_ui_words(html: str, *data: str) -> set[str]:
    """Latin words a reader sees on a page, minus names, code and the user's own ``data``.

    A zh-TW page should give an empty set: anything left is a string that skipped the
    translation layer.
    """
    for value in data:
        html = html.replace(value, "")
    text = re.sub(r"<(pre|code|script|title)\b.*?</\1>", "", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\b[a-z_]+\.[a-z_]+\b", " ", text)  # topic names are identifiers
    return set(re.findall(r"[A-Za-z]{4,}", text)) - NAMES_AND_TERMS
