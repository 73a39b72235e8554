"""Every answer carries framing and content headers; /docs works without the internet.

Before, only the dashboard's pages had them: /docs, /openapi.json, API answers and 404s
went out without, and /docs loaded Swagger UI from a CDN (a blank page offline).
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from hookline.web.view import SECURITY_HEADERS
from tests.integration.conftest import OP

ANSWERS = [
    ("GET", "/openapi.json", 200),
    ("GET", "/docs", 200),
    ("GET", "/redoc", 200),
    ("GET", "/healthz", 200),
    ("GET", "/v1/admin/platforms", 200),
    ("GET", "/v1/platform", 401),
    ("GET", "/no/such/page", 404),
    ("DELETE", "/healthz", 405),
    ("POST", "/v1/admin/platforms", 413),
    ("POST", "/v1/admin/platforms", 422),
]


@pytest.mark.parametrize(("method", "path", "status"), ANSWERS)
def test_every_answer_is_framed_and_typed(
    client: TestClient, method: str, path: str, status: int
) -> None:
    body = b"x" * (64 * 1024 + 1) if status == 413 else b"{}" if status == 422 else None
    headers = {**OP, "Content-Type": "application/json"}
    r = client.request(method, path, content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "same-origin"
    policy = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy
    if path not in ("/docs", "/redoc"):
        assert policy.startswith("default-src 'none'")  # JSON loads nothing
    assert r.headers["Cache-Control"] == "no-store"


def test_the_dashboard_keeps_its_own_policy(client: TestClient) -> None:
    r = client.get("/login")
    for name, value in SECURITY_HEADERS.items():
        assert r.headers[name] == value


def test_docs_use_only_assets_of_this_server(client: TestClient) -> None:
    r = client.get("/docs")
    page = r.text
    assert "cdn" not in page.lower() and "//" not in re.sub(r"<!doctype[^>]*>", "", page)
    assert "<script>" not in page  # only scripts with a src: the policy allows no inline one
    policy = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    urls = re.findall(r'(?:src|href|data-openapi-url)="([^"]+)"', page)
    assert len(urls) == 5, urls
    types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", "json": "json"}
    for url in urls:
        assert url.startswith("/") and not url.startswith("//")
        asset = client.get(url)
        assert asset.status_code == 200, url
        wanted = next(t for end, t in types.items() if url.endswith(end))
        assert wanted in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text and "Cache-Control" not in bundle.headers


def test_redoc_uses_only_assets_of_this_server(client: TestClient) -> None:
    page = client.get("/redoc").text
    urls = re.findall(r'(?:src|href|spec-url)="([^"]+)"', page)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls)
    assert all(client.get(u).status_code == 200 for u in urls)
    assert "<script>" not in page
