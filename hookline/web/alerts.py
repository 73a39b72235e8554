"""Alert settings in the dashboard, and the portal's sign-in link.

``/settings``: every signed-in user (member or operator) turns their own alert emails
on or off and picks their language. ``/operator/alerts``: the operator sets the URL of
the operational webhook; its new secret is shown once, on the page answering the POST.
``/portal/{token}``: a one-use link from ``POST /v1/admin/platforms/{id}/portal-links``
signs its member in (``services.portal``); a spent or expired link is a clear page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import Response

from hookline.domain.alert_texts import LANGUAGES
from hookline.domain.errors import InvalidInput
from hookline.services import alerts, portal
from hookline.web.csrf import SESSION_COOKIE
from hookline.web.routing import dashboard_router
from hookline.web.view import (
    Action,
    AnyView,
    LoginRequired,
    OperatorAction,
    OperatorPage,
    View,
)

router = dashboard_router()


def _signed_in(view: View) -> str:
    if view.user is None:
        raise LoginRequired
    return view.user.id


@router.get("/settings")
def settings_page(view: AnyView, notice: str = "") -> Response:
    found = alerts.user_alerts(view.ctx, _signed_in(view))
    return view.render(
        "settings.html",
        email_alerts=found.email_alerts,
        language=found.language or view.lang,
        languages=LANGUAGES,
        saved=notice == "saved",
    )


@router.post("/settings")
def save_settings(
    view: Action,
    email_alerts: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
) -> Response:
    """An unchecked box sends nothing: no ``email_alerts`` field means off."""
    user_id = _signed_in(view)
    try:
        alerts.set_user_alerts(
            view.ctx,
            user_id,
            view.actor,
            email_alerts=email_alerts == "on",
            language=language,
        )
    except InvalidInput:
        return view.render(
            "settings.html",
            status_code=422,
            email_alerts=email_alerts == "on",
            language=view.lang,
            languages=LANGUAGES,
            saved=False,
            error=view.t("settings.bad_language"),
        )
    return view.redirect("/settings?notice=saved")


def _ops_page(view: View, status_code: int = 200, **values: Any) -> Response:
    hook = alerts.ops_hook(view.ctx)
    values.setdefault("url", hook.url or "")
    return view.render("operator/alerts.html", status_code=status_code, hook=hook, **values)


@router.get("/operator/alerts")
def ops_alerts_page(view: OperatorPage, notice: str = "") -> Response:
    return _ops_page(view, notice=notice)


@router.post("/operator/alerts")
def set_ops_alerts(view: OperatorAction, url: Annotated[str, Form()] = "") -> Response:
    try:
        created = alerts.set_ops_hook(view.ctx, url.strip() or None, view.actor)
    except InvalidInput as exc:
        message = view.field_text(exc.errors[0]) if exc.errors else view.t("field.invalid")
        return _ops_page(view, status_code=422, url=url, error=message)
    if created.secret is None:
        return view.redirect("/operator/alerts?notice=cleared")
    return _ops_page(view, secret=created.secret, notice="saved")


@router.get("/portal/{token}", name="portal_sign_in")
def portal_sign_in(view: AnyView, token: str) -> Response:
    """Spend the link, open the member's session, land on their webhooks.

    A GET, because an iframe's ``src`` is one; the link works once, so a second load
    (or a link scanner that got there first) gets the "already used" page.
    """
    result = portal.sign_in(view.ctx, token)
    view.cookies[SESSION_COOKIE] = (
        result.token,
        int((result.expires_at - view.ctx.clock()).total_seconds()),
    )
    view.user = result.user
    alerts.remember_language(view.ctx, result.user.id, view.lang)
    return view.redirect("/webhooks")
