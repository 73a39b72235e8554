"""The dashboard: server-rendered pages for marketers and operators at ``/``.

It is a second face of the same use cases the JSON API calls (hookline.services);
nothing here touches SQL. ``install`` adds its routes, static files and the handlers
that turn "not signed in" into a redirect and a failed CSRF check into a 403 page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from hookline.services.validation import clean_path_params
from hookline.web import auth
from hookline.web.operator import router as operator_router
from hookline.web.pages import router as pages_router
from hookline.web.view import CSRFRejected, LoginRequired, NotAllowed, build_view

STATIC_DIR = Path(__file__).parent / "static"


def _refuse_unsafe_path(request: Request) -> None:
    """An id with NUL or a lone surrogate names nothing (and breaks PostgreSQL)."""
    clean_path_params(request.path_params)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(auth.router)
    safe_path = [Depends(_refuse_unsafe_path)]
    app.include_router(pages_router, dependencies=safe_path)
    app.include_router(operator_router, dependencies=safe_path)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc: Exception) -> Response:
        view = build_view(request)
        target = request.url.path if request.method == "GET" else "/"
        return view.redirect(f"/login?next={auth.safe_next(target)}")

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, _exc: Exception) -> Response:
        view = build_view(request)
        return view.render("error.html", status_code=403, message=view.t("error.not_allowed"))

    @app.exception_handler(CSRFRejected)
    async def _csrf(request: Request, _exc: Exception) -> Response:
        view = build_view(request)
        return view.render("error.html", status_code=403, message=view.t("error.csrf"))
