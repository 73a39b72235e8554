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
