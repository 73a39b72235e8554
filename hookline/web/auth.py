"""Sign in, sign out, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from fastapi.responses import Response

from hookline.domain.errors import InvalidLogin, LoginThrottled
from hookline.services import users
from hookline.web.csrf import SESSION_COOKIE, read_cookie
from hookline.web.i18n import LANGUAGES
from hookline.web.routing import dashboard_router
from hookline.web.view import (
    LANG_COOKIE,
    LANG_COOKIE_MAX_AGE,
    Action,
    AnyView,
    View,
    safe_next,
)

router = dashboard_router()


def _home(view: View) -> str:
    if view.user is None:
        return "/login"
    return "/operator" if view.user.is_operator else "/webhooks"


@router.get("/")
def home(view: AnyView) -> Response:
    return view.redirect(_home(view))


@router.get("/login")
def login_form(view: AnyView, next: str = "/") -> Response:
    if view.user is not None:
        return view.redirect(_home(view))
    return view.render("login.html", next=safe_next(next), email="", error=None)


@router.post("/login")
def login(
    view: Action,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    headers: dict[str, str] = {}
    try:
        result = users.login(view.ctx, email, password)
    except LoginThrottled as exc:
        seconds = max(exc.retry_after, 1)
        error, status = view.t.plural("login.throttled", seconds, seconds=seconds), 429
        headers["Retry-After"] = str(seconds)  # what the page says, for scripts and proxies
    except InvalidLogin:
        error, status = view.t("login.invalid"), 401
    else:
        max_age = int((result.expires_at - view.ctx.clock()).total_seconds())
        view.cookies[SESSION_COOKIE] = (result.token, max_age)
        view.user = result.user
        target = safe_next(next)
        return view.redirect(_home(view) if target == "/" else target)
    response = view.render(
        "login.html", status_code=status, next=safe_next(next), email=email, error=error
    )
    response.headers.update(headers)
    return response


@router.post("/logout")
def logout(view: Action) -> Response:
    token = read_cookie(view.request, SESSION_COOKIE)
    if token:
        users.logout(view.ctx, token)
    response = view.redirect("/login")
    view.delete_cookie(response, SESSION_COOKIE)
    return response


@router.get("/lang/{lang}")
def switch_language(view: AnyView, lang: str, next: str = "/") -> Response:
    """Remember the choice in a cookie; it wins over Accept-Language from now on."""
    if lang in LANGUAGES:
        view.cookies[LANG_COOKIE] = (lang, LANG_COOKIE_MAX_AGE)
    return view.redirect(safe_next(next))
