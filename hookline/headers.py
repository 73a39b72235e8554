"""Framing and content headers on every answer of the app, not only the dashboard's.

The dashboard's pages set a strict policy themselves (``hookline.web.view``); the API's
JSON, its problem documents, 404s, 405s, 413s, ``/openapi.json`` and the docs pages had
none. This layer adds to each answer the headers it lacks, so a page that set its own
keeps it. JSON needs no resources at all (``default-src 'none'``); the docs pages load
Swagger UI and ReDoc from this server and nothing else.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
NOTHING_TO_LOAD = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SWAGGER_UI_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""Swagger UI runs with scripts and styles from this server only (checked in Chromium)."""
REDOC_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:;"
    " frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""ReDoc writes its styles into style elements and searches in a blob: worker; its
footer logo from redoc.ly stays blocked."""
POLICIES = {"/docs": SWAGGER_UI_POLICY, "/redoc": REDOC_POLICY}
CACHEABLE_PREFIXES = ("/static/", "/docs/assets/")
"""Files that are the same for everyone; every other answer is someone's and not kept."""


def headers_for(path: str) -> dict[str, str]:
    headers = {**COMMON, "Content-Security-Policy": POLICIES.get(path, NOTHING_TO_LOAD)}
    if not path.startswith(CACHEABLE_PREFIXES):
        headers["Cache-Control"] = "no-store"
    return headers


def allows_framing(headers: MutableHeaders) -> bool:
    """A page whose own CSP names who may frame it (the dashboard with
    ``HOOKLINE_FRAME_ANCESTORS``) must not get ``X-Frame-Options: DENY`` on top."""
    policy = headers.get("content-security-policy", "")
    return "frame-ancestors" in policy and "frame-ancestors 'none'" not in policy


class SecurityHeaders:
    """A pure ASGI layer: it only adds headers to the response start, never reads a body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = headers_for(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    if name not in headers and not (
                        name == "X-Frame-Options" and allows_framing(headers)
                    ):
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
