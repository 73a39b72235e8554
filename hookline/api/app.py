"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from hookline import __version__
from hookline.api import errors
from hookline.api.routers import admin, health, platform, webhooks
from hookline.config import Settings
from hookline.domain.secrets import SecretBox, load_or_create_key_file
from hookline.services.context import Context
from hookline.store import create_database

MAX_BODY_BYTES = 64 * 1024

DESCRIPTION = """\
Manage MAAC-compatible webhooks: platforms and their zones (operators), webhooks and
their share secrets (platforms). Errors are RFC 9457 `application/problem+json` with a
stable `code`; see docs/errors.md.
"""


def build_context(settings: Settings) -> Context:
    key = (
        settings.secret_key.get_secret_value()
        if settings.secret_key
        else load_or_create_key_file(settings.key_file)
    )
    return Context(
        db=create_database(settings.sqlalchemy_url),
        box=SecretBox(key),
        allow_http=settings.allow_http,
        allowed_networks=settings.allowed_networks,
    )


def create_app(settings: Settings | None = None, context: Context | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="hookline",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.context = context or build_context(settings)
    app.state.operator_token = (
        settings.operator_token.get_secret_value() if settings.operator_token else None
    )
    errors.install(app)

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return errors.problem(
                413,
                "payload_too_large",
                f"The request body must be at most {MAX_BODY_BYTES} bytes.",
            )
        return await call_next(request)

    for router in (health.router, admin.router, platform.router, webhooks.router):
        app.include_router(router)
    return app
