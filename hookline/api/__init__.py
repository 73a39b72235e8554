"""The HTTP API: one router per resource, problem+json errors (``hookline.app`` mounts it)."""

from __future__ import annotations

from fastapi import FastAPI

from hookline.api import apidocs, errors, maac, openapi
from hookline.api.routers import (
    admin,
    alerts,
    audit,
    deliveries,
    events,
    health,
    ingest,
    metrics,
    platform,
    surveycake,
    templates,
    tracking,
    webhooks,
)

ROUTERS = (
    health.router,
    metrics.router,
    admin.router,
    alerts.router,
    platform.router,
    webhooks.router,
    deliveries.router,
    events.router,
    audit.router,
    surveycake.router,
    surveycake.intake_router,
    templates.router,
    tracking.router,
)


def install_ingest(app: FastAPI) -> None:
    """Producers' routes, to be installed before any other.

    Starlette tries routes in order and nearly every request of a busy hookline is an
    ingest: behind the dashboard's and the other API routes (26 routers) finding it
    took about a tenth of the API process's CPU.
    """
    app.include_router(ingest.router)


def install(app: FastAPI) -> None:
    """The API's routes, and its problem+json answers for every error a face leaves."""
    errors.install(app)
    apidocs.install(app)
    openapi.install(app)
    for router in ROUTERS:
        app.include_router(router)
    maac.install(app)
