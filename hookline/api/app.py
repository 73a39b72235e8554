"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request, Response

from hookline import __version__, web
from hookline.api import errors
from hookline.api.routers import admin, deliveries, health, ingest, platform, webhooks
from hookline.config import Settings
from hookline.dispatch.runner import build_sender, run_worker, worker_settings
from hookline.dispatch.wakeup import notify_sqlite_workers, sqlite_wake_dir
from hookline.dispatch.worker import Worker
from hookline.domain.secrets import SecretBox, load_or_create_key_file
from hookline.services.context import Context
from hookline.store import create_database

MAX_BODY_BYTES = 64 * 1024
MAX_INGEST_BYTES = 256 * 1024
MAX_BATCH_BYTES = 32 * 1024 * 1024
BATCH_PATH = "/internal/v1/events/batch"
INGEST_PATH = "/internal/v1/events"


def body_limit(path: str) -> int:
    """Producers send bigger bodies than marketers: one event up to 256 KiB, a batch more."""
    if path == BATCH_PATH:
        return MAX_BATCH_BYTES
    if path == INGEST_PATH:
        return MAX_INGEST_BYTES
    return MAX_BODY_BYTES


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
    context = Context(
        db=create_database(settings.sqlalchemy_url),
        box=SecretBox(key),
        allow_http=settings.allow_http,
        allowed_networks=settings.allowed_networks,
        failing_period=timedelta(days=settings.failing_days),
    )
    wake_dir = sqlite_wake_dir(settings.sqlalchemy_url)
    if wake_dir is not None:
        context.wake_workers = lambda: notify_sqlite_workers(wake_dir)
    return context


def create_app(
    settings: Settings | None = None,
    context: Context | None = None,
    *,
    embedded_worker: bool = False,
) -> FastAPI:
    """The API; with ``embedded_worker`` it also delivers, woken in-process by ingest."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = None
        worker = None
        if embedded_worker:
            context = app.state.context
            worker = Worker(
                queue=context.queue,
                sender=build_sender(settings, context),
                decrypt=context.box.decrypt,
                settings=worker_settings(settings),
                clock=context.clock,
            )
            others = app.state.context.wake_workers

            def wake_all() -> None:
                worker.wake()
                others()

            app.state.context.wake_workers = wake_all
            app.state.worker = worker
            task = asyncio.create_task(run_worker(worker))
        try:
            yield
        finally:
            if worker is not None and task is not None:
                worker.stop()
                await task
                await worker.sender.close()
            await app.state.sender.close()

    app = FastAPI(
        lifespan=lifespan,
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
    app.state.ingest_token = (
        settings.ingest_token.get_secret_value() if settings.ingest_token else None
    )
    # for the dashboard's test sends and resends; its HTTP session opens on first use
    app.state.sender = build_sender(settings, app.state.context)
    errors.install(app)

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        limit = body_limit(request.url.path)
        if length is not None and (not length.isdigit() or int(length) > limit):
            return errors.problem(
                413,
                "payload_too_large",
                f"The request body must be at most {limit} bytes.",
            )
        return await call_next(request)

    web.install(app)
    for router in (
        health.router,
        admin.router,
        platform.router,
        webhooks.router,
        deliveries.router,
        ingest.router,
    ):
        app.include_router(router)
    return app
