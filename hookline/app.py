"""The ASGI app: the JSON API and the dashboard over one context, plus the lifespan.

The composition root's web half: ``hookline.bootstrap`` builds the context, senders
and worker; this module hands them to both faces (``hookline.http.deps.Wiring``), runs
an embedded worker for the app's lifetime, and caps request bodies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from pydantic import SecretStr

from hookline import __version__, api, web
from hookline.bodylimit import BodyLimit
from hookline.bootstrap import (
    build_context,
    build_line_gateway,
    build_sender,
    build_worker,
    wake_listener,
    with_fan_out,
    worker_companions,
)
from hookline.config import Settings
from hookline.dispatch.line import LineGateway
from hookline.dispatch.runner import Companion, run_supervised
from hookline.dispatch.sender import Sender
from hookline.dispatch.surveycake_fetch import SurveyCakeFetcher
from hookline.dispatch.wakeup import Listen
from hookline.dispatch.worker import Worker
from hookline.headers import SecurityHeaders
from hookline.http.deps import Wiring
from hookline.services.context import Context
from hookline.services.messaging import Messaging

MAX_BODY_BYTES = 64 * 1024
MAX_INGEST_BYTES = 256 * 1024
MAX_BATCH_BYTES = 32 * 1024 * 1024
BATCH_PATH = "/internal/v1/events/batch"
INGEST_PATH = "/internal/v1/events"

DESCRIPTION = """\
Manage MAAC-compatible webhooks: platforms and their zones (operators), webhooks and
their share secrets (platforms). Errors are RFC 9457 `application/problem+json` with a
stable `code`; see docs/errors.md.
"""

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def body_limit(path: str) -> int:
    """Producers send bigger bodies than marketers: one event up to 256 KiB, a batch more."""
    if path == BATCH_PATH:
        return MAX_BATCH_BYTES
    if path == INGEST_PATH:
        return MAX_INGEST_BYTES
    return MAX_BODY_BYTES


def _revealed(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret else None


def _lifespan(
    sender: Sender,
    worker: Worker | None,
    listen: Listen | None,
    beside: list[Companion],
    fetcher: SurveyCakeFetcher,
    line: LineGateway,
) -> Lifespan:
    """Run the embedded worker while the app serves; close every sender after."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = (
            asyncio.create_task(run_supervised(worker, listen, beside=beside))
            if worker is not None
            else None
        )
        try:
            yield
        finally:
            if worker is not None and task is not None:
                worker.stop()
                await task
                await worker.sender.close()
            await sender.close()
            await fetcher.close()
            await line.close()

    return lifespan


def create_app(
    settings: Settings | None = None,
    context: Context | None = None,
    *,
    embedded_worker: bool = False,
    expect_workers: bool | None = None,
) -> FastAPI:
    """The API and the dashboard; with ``embedded_worker`` it also delivers.

    The embedded worker joins the context's wake-up fan-out before the app serves, so
    an ingest in this process wakes it at once. ``expect_workers`` (by default: with
    an embedded worker) makes ``/readyz`` fail while no worker is alive.
    """
    settings = settings or Settings()
    ctx = context or build_context(settings)
    worker = None
    listen = None
    beside: list[Companion] = []
    if embedded_worker:
        ctx, wakeups = with_fan_out(ctx)
        worker = build_worker(settings, ctx)
        wakeups.register(worker.wake)
        listen = wake_listener(settings)
        beside = worker_companions(settings, ctx, worker)
    # for test sends and resends of both faces; its HTTP session opens on first use
    sender = build_sender(settings, ctx)
    fetcher = SurveyCakeFetcher(  # the dashboard's key check
        allowed_networks=ctx.allowed_networks, total_timeout=settings.send_timeout
    )
    line = build_line_gateway(settings, ctx)
    app = FastAPI(
        lifespan=_lifespan(sender, worker, listen, beside, fetcher, line),
        title="hookline",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # hookline.api.apidocs serves /docs and /redoc without a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.wiring = Wiring(
        context=ctx,
        send=sender.send,
        operator_token=_revealed(settings.operator_token),
        ingest_token=_revealed(settings.ingest_token),
        metrics_token=_revealed(settings.metrics_token),
        expect_workers=embedded_worker if expect_workers is None else expect_workers,
        frame_ancestors=settings.frame_origins,
        surveycake_fetch=fetcher,
        messaging=Messaging(line=line, public_url=settings.public_url),
    )
    app.state.worker = worker  # tests watch it go idle
    api.install_ingest(app)
    web.install(app)
    api.install(app)
    # Added last, so it is the outermost of the app's own layers: the limit holds on
    # every route, before any authentication reads a header or a session.
    app.add_middleware(BodyLimit, limit_for=body_limit)
    # Outside even the body limit, so its 413 answers carry the headers too.
    app.add_middleware(SecurityHeaders)
    return app
