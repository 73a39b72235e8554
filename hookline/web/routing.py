"""The dashboard's own error handling: every page answers its errors as a page.

Each dashboard route runs through ``DashboardRoute``, which turns "not signed in" into
a redirect to the login form, the wrong role or a failed CSRF check into a 403 page,
and a use case's error into a translated error page. The API's problem+json handlers
never see these, so neither face needs to know the other exists.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from hookline.domain.errors import HooklineError, StorageUnavailable
from hookline.http.status import status_of
from hookline.web.view import CSRFRejected, LoginRequired, NotAllowed, build_view, safe_next

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


PAGE_ERRORS = (LoginRequired, NotAllowed, CSRFRejected, HooklineError)


def error_response(request: Request, exc: Exception) -> Response:
    """The page for one of the ``PAGE_ERRORS``."""
    if isinstance(exc, LoginRequired):
        target = request.url.path if request.method == "GET" else "/"
        return build_view(request).redirect(f"/login?next={safe_next(target)}")
    if isinstance(exc, NotAllowed | CSRFRejected):
        view = build_view(request)
        key = "error.not_allowed" if isinstance(exc, NotAllowed) else "error.csrf"
        return view.render("error.html", status_code=403, message=view.t(key))
    assert isinstance(exc, HooklineError)
    response = build_view(request).error_page(exc, status_of(exc))
    if isinstance(exc, StorageUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


class DashboardRoute(APIRoute):
    """A route that answers ``PAGE_ERRORS`` as pages, raised by its dependencies or itself."""

    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()

        async def handle_as_page(request: Request) -> Response:
            try:
                return await handle(request)
            except PAGE_ERRORS as exc:  # any other error goes up to the app's handlers
                return error_response(request, exc)

        return handle_as_page


def dashboard_router() -> APIRouter:
    """A router for dashboard pages: out of the Open API document, errors as pages."""
    return APIRouter(include_in_schema=False, route_class=DashboardRoute)


# --- unknown paths ---------------------------------------------------------------------

PAGE_TYPES = ("text/html", "application/xhtml+xml")
DATA_TYPES = ("application/json", "application/problem+json")


def _qualities(accept: str) -> dict[str, float]:
    """Media type -> quality of an Accept header; a malformed quality counts as 0."""
    out: dict[str, float] = {}
    for part in accept.split(","):
        media, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.strip().lower()
        if media:
            out[media] = max(quality, out.get(media, 0.0))
    return out


def wants_page(request: Request) -> bool:
    """A browser navigating (it names HTML, ahead of JSON), not an API client.

    curl and HTTP libraries send ``*/*`` or ask for JSON: they keep getting problem+json.
    """
    if request.method not in ("GET", "HEAD"):
        return False
    qualities = _qualities(request.headers.get("accept", ""))
    page = max((qualities.get(m, 0.0) for m in PAGE_TYPES), default=0.0)
    data = max((qualities.get(m, 0.0) for m in DATA_TYPES), default=0.0)
    return page > 0 and page >= data


async def not_found(request: Request, exc: Exception) -> Response:
    """An unknown path: a page in the reader's language for a browser, else the app's answer.

    Installed for status 404, which Starlette looks up before the handler of
    ``HTTPException`` (the API's problem+json); that handler answers everyone else.
    """
    if wants_page(request):
        view = build_view(request)
        return view.render(
            "error.html",
            status_code=404,
            heading=view.t("error.not_found_title"),
            message=view.t("error.not_found"),
        )
    fallback = request.app.exception_handlers[HTTPException]
    response: Response = await fallback(request, exc)
    return response
