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
    ingest.router,
    surveycake.router,
    surveycake.intake_router,
    templates.router,
    tracking.router,
)


def install(app: FastAPI) -> None:
    """The API's routes, and its problem+json answers for every error a face leaves."""
    errors.install(app)
    apidocs.install(app)
    openapi.install(app)
    for router in ROUTERS:
        app.include_router(router)
    maac.install(app)
