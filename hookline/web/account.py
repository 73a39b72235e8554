"""The signed-in person's own account: change my password (members and operators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from fastapi.responses import Response

from hookline.domain.errors import InvalidInput, LoginThrottled
from hookline.services import account, users
from hookline.web.csrf import SESSION_COOKIE
from hookline.web.routing import dashboard_router
from hookline.web.view import Action, AnyView, LoginRequired, View

router = dashboard_router()
LENGTHS = {"min": users.MIN_PASSWORD_LENGTH, "max": users.MAX_PASSWORD_LENGTH}


def _page(
    view: View, *, errors: dict[str, str] | None = None, done: bool = False, status_code: int = 200
) -> Response:
    return view.render(
        "account/password.html",
        status_code=status_code,
        errors=errors or {},
        done=done,
        lengths=LENGTHS,
    )


@router.get("/account/password")
def password_form(view: AnyView, done: bool = False) -> Response:
    if view.user is None:
        raise LoginRequired
    return _page(view, done=done)


@router.post("/account/password")
def change_password(
    view: Action,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    repeat_password: Annotated[str, Form()] = "",
) -> Response:
    user = view.user
    if user is None:
        raise LoginRequired
    if new_password != repeat_password:
        errors = {"repeat_password": view.t("password.mismatch")}
        return _page(view, errors=errors, status_code=422)
    try:
        result = account.change_password(
            view.ctx, user, current=current_password, new=new_password, actor=view.actor
        )
    except LoginThrottled as exc:
        seconds = max(exc.retry_after, 1)
        errors = {"current_password": view.t("login.throttled", seconds=seconds)}
        return _page(view, errors=errors, status_code=429)
    except InvalidInput as exc:
        errors = {}
        for error in exc.errors:
            key = f"password.{error.code}"
            text = view.t(key, **LENGTHS) if view.t.has(key) else view.field_text(error)
            errors.setdefault(error.field, text)
        return _page(view, errors=errors, status_code=422)
    max_age = int((result.expires_at - view.ctx.clock()).total_seconds())
    view.cookies[SESSION_COOKIE] = (result.token, max_age)
    return view.redirect("/account/password?done=true")
