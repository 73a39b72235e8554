"""The dashboard: server-rendered pages for marketers and operators at ``/``.

It is a second face of the same use cases the JSON API calls (hookline.services);
nothing here touches SQL. ``install`` adds its routes and static files; each route
answers its own errors as pages (``hookline.web.routing``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles

from hookline.services.validation import clean_path_params
from hookline.web import account, alerts, audit, auth, delivery_page, events, manage, routing
from hookline.web.messaging import router as messaging_router
from hookline.web.operator import router as operator_router
from hookline.web.pages import router as pages_router
from hookline.web.surveycake import router as surveycake_router

STATIC_DIR = Path(__file__).parent / "static"


def _refuse_unsafe_path(request: Request) -> None:
    """An id with NUL or a lone surrogate names nothing (and breaks PostgreSQL)."""
    clean_path_params(request.path_params)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(auth.router)
    safe_path = [Depends(_refuse_unsafe_path)]
    # before pages: its catch-all GET of /webhooks/{id}/{rest} would answer manage's pages
    app.include_router(manage.router, dependencies=safe_path)
    app.include_router(delivery_page.router, dependencies=safe_path)
    app.include_router(pages_router, dependencies=safe_path)
    app.include_router(operator_router, dependencies=safe_path)
    app.include_router(alerts.router, dependencies=safe_path)
    app.include_router(messaging_router, dependencies=safe_path)
    app.include_router(surveycake_router, dependencies=safe_path)
    app.include_router(events.router, dependencies=safe_path)
    app.include_router(audit.router, dependencies=safe_path)
    app.include_router(account.router, dependencies=safe_path)
    app.add_exception_handler(404, routing.not_found)
