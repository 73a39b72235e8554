"""The operator's pages: platforms, zone purchases, webhook limits, API tokens, users.

Operators are the people who sell and support hookline: they see every platform and
change what a marketer cannot (the limit, the zones a platform paid for and until
when, its API tokens, who may log in to it). Everything goes through the same use
cases as the operator API (hookline.services), and their errors are shown beside the
field they concern, translated by ``code``.

A new API token is shown exactly once, on the page that answers the POST which made
it: it is never put in a URL (URLs end up in logs and browser history) and cannot be
shown again, since only its hash is stored. Every other change answers with a
redirect (POST/redirect/GET) carrying a ``?notice=`` key.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Form
from fastapi.responses import Response

from hookline.catalog import TOPICS, ZONES
from hookline.domain.errors import (
    EmailTaken,
    InvalidInput,
    TokenNotFound,
    UserNotFound,
)
from hookline.domain.models import (
    DEFAULT_TIMEZONE,
    DEFAULT_WEBHOOK_LIMIT,
    MAX_WEBHOOK_LIMIT,
    Role,
)
from hookline.services import platforms, users
from hookline.web.operator_forms import (
    RETRY_POLICIES,
    SETTINGS_FIELDS,
    TIMEZONE_SUGGESTIONS,
    USER_FIELDS,
    Errors,
    error_message,
    field_message,
    form_errors,
    parse_limit,
    parse_retry_policy,
    parse_valid_until,
)
from hookline.web.routing import dashboard_router
from hookline.web.view import OperatorAction, OperatorPage, View

router = dashboard_router()

NOTICES = frozenset(
    {
        "saved",
        "zone_set",
        "zone_ended",
        "token_revoked",
        "user_created",
        "user_deleted",
    }
)
"""What ``?notice=`` may say. "created" and "token_created" are not here: they only
accompany the page that shows a new token, never a URL."""


def _platform_url(platform_id: str, notice: str | None = None) -> str:
    url = f"/operator/platforms/{quote(platform_id, safe='')}"
    return f"{url}?notice={notice}" if notice else url


# --- the platform list -----------------------------------------------------------------


def list_page(
    view: View,
    *,
    values: dict[str, Any] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Response:
    return view.render(
        "operator/list.html",
        status_code=status_code,
        overviews=platforms.list_platforms(view.ctx),
        zone_numbers=ZONES,
        timezones=TIMEZONE_SUGGESTIONS,
        max_limit=MAX_WEBHOOK_LIMIT,
        values=values
        or {"name": "", "timezone": DEFAULT_TIMEZONE, "webhook_limit": DEFAULT_WEBHOOK_LIMIT},
        errors=errors or {},
    )


@router.get("/operator")
def platform_list(view: OperatorPage) -> Response:
    return list_page(view)


@router.get("/operator/platforms")
def platform_list_again(view: OperatorPage) -> Response:
    """After a failed create the address bar shows this path; reloading it lands here."""
    return view.redirect("/operator")


@router.post("/operator/platforms")
def create_platform(
    view: OperatorAction,
    name: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = DEFAULT_TIMEZONE,
    webhook_limit: Annotated[str, Form()] = str(DEFAULT_WEBHOOK_LIMIT),
) -> Response:
    values = {"name": name, "timezone": timezone, "webhook_limit": webhook_limit}
    try:
        limit = parse_limit(webhook_limit)
        created = platforms.create_platform(
            view.ctx, name, timezone=timezone.strip(), webhook_limit=limit, actor=view.actor
        )
    except InvalidInput as exc:
        errors = form_errors(view, exc, SETTINGS_FIELDS)
        return list_page(view, values=values, errors=errors, status_code=422)
    return platform_page(
        view,
        created.platform.id,
        notice="created",
        new_token=created.api_token,
        new_token_id=created.token_id,
        status_code=201,
    )


# --- one platform ----------------------------------------------------------------------


def platform_page(
    view: View,
    platform_id: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    errors: dict[str, Errors] | None = None,
    values: dict[str, dict[str, Any]] | None = None,
    new_token: str | None = None,
    new_token_id: str | None = None,
    status_code: int = 200,
) -> Response:
    """The platform page, optionally with one form's errors and the values it was sent.

    Texts chosen by a value (the notice, the retry policies) are looked up here, so the
    templates name only whole keys, which tests/web/test_i18n.py checks exist.
    """
    overview = platforms.overview(view.ctx, platform_id)
    platform = overview.platform
    tz = ZoneInfo(platform.timezone)
    sent = values or {}
    settings = sent.get("settings") or {
        "name": platform.name,
        "timezone": platform.timezone,
        "webhook_limit": platform.webhook_limit,
        "retry_policy": platform.retry_policy.value,
    }
    zone_dates = {
        str(z.zone): z.valid_until.astimezone(tz).date().isoformat() if z.valid_until else ""
        for z in overview.zones
    }
    zone_dates.update(sent.get("zones", {}))
    return view.render(
        "operator/platform.html",
        status_code=status_code,
        overview=overview,
        platform=platform,
        tokens=platforms.list_tokens(view.ctx, platform_id),
        members=users.list_users(view.ctx, platform_id),
        topics=TOPICS,
        timezones=TIMEZONE_SUGGESTIONS,
        retry_labels={p: view.t(f"operator.retry.{p}") for p in RETRY_POLICIES},
        max_limit=MAX_WEBHOOK_LIMIT,
        password_min=users.MIN_PASSWORD_LENGTH,
        password_max=users.MAX_PASSWORD_LENGTH,
        settings=settings,
        zone_dates=zone_dates,
        user_values=sent.get("user") or {"email": ""},
        errors=errors or {},
        notice=view.t(f"operator.notice.{notice}") if notice else None,
        error=error,
        new_token=new_token,
        new_token_id=new_token_id,
    )


@router.get("/operator/platforms/{platform_id}")
def platform_details(view: OperatorPage, platform_id: str, notice: str | None = None) -> Response:
    return platform_page(view, platform_id, notice=notice if notice in NOTICES else None)


@router.get("/operator/platforms/{platform_id}/{rest:path}")
def platform_action_again(view: OperatorPage, platform_id: str, rest: str) -> Response:
    """A page answering a POST (a new token, a form with errors) shows the action's path;
    reloading or switching language there is a GET, which belongs on the platform page.
    """
    return view.redirect(_platform_url(platform_id))


@router.post("/operator/platforms/{platform_id}/settings")
def change_settings(
    view: OperatorAction,
    platform_id: str,
    name: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
    webhook_limit: Annotated[str, Form()] = "",
    retry_policy: Annotated[str, Form()] = "",
) -> Response:
    """All fields are checked before anything is written: one bad field changes nothing."""
    sent = {
        "name": name,
        "timezone": timezone,
        "webhook_limit": webhook_limit,
        "retry_policy": retry_policy,
    }
    try:
        platforms.update_platform(
            view.ctx,
            platform_id,
            name=name,
            timezone=timezone.strip(),
            webhook_limit=parse_limit(webhook_limit),
            retry_policy=parse_retry_policy(retry_policy),
            actor=view.actor,
        )
    except InvalidInput as exc:
        return platform_page(
            view,
            platform_id,
            errors={"settings": form_errors(view, exc, SETTINGS_FIELDS)},
            values={"settings": sent},
            status_code=422,
        )
    return view.redirect(_platform_url(platform_id, "saved"))


@router.post("/operator/platforms/{platform_id}/zones/{zone}")
def set_zone(
    view: OperatorAction,
    platform_id: str,
    zone: int,
    valid_until: Annotated[str, Form()] = "",
) -> Response:
    platform = platforms.get_platform(view.ctx, platform_id)
    try:
        moment = parse_valid_until(valid_until, platform.timezone)
        platforms.set_zone(view.ctx, platform_id, zone, moment, actor=view.actor)
    except InvalidInput as exc:
        message = field_message(view, exc.errors[0])
        if zone not in ZONES:  # no form of this page sends it: say so above the forms
            return platform_page(view, platform_id, error=message, status_code=422)
        return platform_page(
            view,
            platform_id,
            errors={"zones": {str(zone): message}},
            values={"zones": {str(zone): valid_until}},
            status_code=422,
        )
    return view.redirect(_platform_url(platform_id, "zone_set"))


@router.post("/operator/platforms/{platform_id}/zones/{zone}/end")
def end_zone(view: OperatorAction, platform_id: str, zone: int) -> Response:
    """Ending a purchase is recording it valid until now: its topics stop at once."""
    try:
        platforms.set_zone(view.ctx, platform_id, zone, view.ctx.clock(), actor=view.actor)
    except InvalidInput as exc:
        return platform_page(
            view, platform_id, error=field_message(view, exc.errors[0]), status_code=422
        )
    return view.redirect(_platform_url(platform_id, "zone_ended"))


@router.post("/operator/platforms/{platform_id}/tokens")
def create_token(view: OperatorAction, platform_id: str) -> Response:
    token_id, token = platforms.create_token(view.ctx, platform_id, actor=view.actor)
    return platform_page(
        view,
        platform_id,
        notice="token_created",
        new_token=token,
        new_token_id=token_id,
        status_code=201,
    )


@router.post("/operator/platforms/{platform_id}/tokens/{token_id}/revoke")
def revoke_token(view: OperatorAction, platform_id: str, token_id: str) -> Response:
    try:
        platforms.revoke_token(view.ctx, platform_id, token_id, actor=view.actor)
    except TokenNotFound as exc:  # revoked already, e.g. in another tab
        return platform_page(view, platform_id, error=error_message(view, exc), status_code=404)
    return view.redirect(_platform_url(platform_id, "token_revoked"))


@router.post("/operator/platforms/{platform_id}/users")
def create_member(
    view: OperatorAction,
    platform_id: str,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        users.create_user(
            view.ctx,
            email=email,
            password=password,
            role=Role.MEMBER,
            platform_id=platform_id,
            actor=view.actor,
        )
    except (InvalidInput, EmailTaken) as exc:
        return platform_page(
            view,
            platform_id,
            errors={"user": form_errors(view, exc, USER_FIELDS)},
            values={"user": {"email": email}},  # never the password
            status_code=422 if isinstance(exc, InvalidInput) else 409,
        )
    return view.redirect(_platform_url(platform_id, "user_created"))


@router.post("/operator/platforms/{platform_id}/users/{user_id}/delete")
def delete_member(view: OperatorAction, platform_id: str, user_id: str) -> Response:
    """Only a member of this platform, from its page: the id alone could name an operator."""
    try:
        user = users.get_user(view.ctx, user_id)
        if user.platform_id != platform_id:
            raise UserNotFound(f"No user has the id '{user_id}'.")
        users.delete_user(view.ctx, user_id, actor=view.actor)
    except UserNotFound as exc:
        return platform_page(view, platform_id, error=error_message(view, exc), status_code=404)
    return view.redirect(_platform_url(platform_id, "user_deleted"))
