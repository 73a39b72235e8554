"""The dashboard: server-rendered pages for marketers and operators at ``/``.

It is a second face of the same use cases the JSON API calls (hookline.services);
nothing here touches SQL. ``install`` adds its routes and static files; each route
answers its own errors as pages (``hookline.web.routing``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hookline.web import auth
from hookline.web.operator import router as operator_router
from hookline.web.pages import router as pages_router

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(auth.router)
    app.include_router(pages_router)
    app.include_router(operator_router)
