"""Acting on a webhook from the dashboard: edit it, send its failures again.

Edits go through the API's own use case (``webhooks.update_webhook``: same checks,
same audit entry). A recover shows how many failed deliveries it would send before
anything is sent: the count and the action read the same rows.

The edit page keeps the form in one ``values`` dict, passed whole to the use case: a
new setting is one more form field, one more key and one more keyword there.
These routes are mounted before ``pages``: its catch-all GET of
``/webhooks/{id}/{rest}`` would otherwise answer them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Form
from fastapi.responses import Response

from hookline.domain.errors import HooklineError, InvalidInput, StorageUnavailable
from hookline.domain.models import Webhook
from hookline.services import deliveries, stats, webhooks
from hookline.web.controls_form import ControlsDep, ControlsForm
from hookline.web.pages import form_errors, platform_overview, topic_choices
from hookline.web.routing import dashboard_router
from hookline.web.view import MemberAction, MemberPage, View

router = dashboard_router()
RECOVER_DEFAULT_DAYS = 7


def _edit_page(
    view: View,
    webhook: Webhook,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    controls: ControlsForm | None = None,
) -> Response:
    overview = platform_overview(view)
    current = {"name": webhook.name, "url": webhook.url, "topics": list(webhook.topics)}
    chosen = values or current
    # a topic the webhook already has stays selectable even if its zone lapsed since
    choices = [
        c if c.name not in webhook.topics else type(c)(c.name, c.zone, None)
        for c in topic_choices(view, overview)
    ]
    return view.render(
        "webhooks/edit.html",
        status_code=status_code,
        webhook=webhook,
        choices=choices,
        values=chosen,
        errors=errors or {},
        controls=controls or ControlsForm.of(webhook),
    )


@router.get("/webhooks/{webhook_id}/edit")
def edit_form(view: MemberPage, webhook_id: str) -> Response:
    return _edit_page(view, webhooks.get_webhook(view.ctx, view.platform_id, webhook_id))


@router.post("/webhooks/{webhook_id}/edit")
def edit(
    view: MemberAction,
    webhook_id: str,
    controls: ControlsDep,
    name: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    topics: Annotated[list[str] | None, Form()] = None,
) -> Response:
    webhook = webhooks.get_webhook(view.ctx, view.platform_id, webhook_id)
    values: dict[str, Any] = {"name": name, "url": url, "topics": topics or []}
    try:
        # only the controls the form changed: the audit entry names what was edited
        before = ControlsForm.of(webhook)
        given = {
            k: v
            for k, v in controls.given().items()
            if getattr(controls, k).strip() != getattr(before, k).strip()
        }
        webhooks.update_webhook(
            view.ctx, view.platform_id, webhook_id, **values, given=given, actor=view.actor
        )
    except StorageUnavailable:
        raise
    except HooklineError as exc:
        errors = form_errors(view, exc)
        return _edit_page(
            view, webhook, values=values, errors=errors, status_code=422, controls=controls
        )
    return view.redirect(f"/webhooks/{webhook_id}?notice=updated")


def _since(view: View, value: str | None) -> date:
    """The chosen day (today at the latest), or a week ago, in the platform's time zone."""
    today = view.ctx.clock().astimezone(ZoneInfo(view.timezone)).date()
    if not value:
        return today - timedelta(days=RECOVER_DEFAULT_DAYS)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.single("since", "invalid_date", "since is not a date.") from None
    if day > today:
        raise InvalidInput.single("since", "out_of_range", "since must not be in the future.")
    return day


def _recover_page(
    view: View, webhook_id: str, since: str | None, *, done: int | None = None
) -> Response:
    pid = view.platform_id
    webhook = webhooks.get_webhook(view.ctx, pid, webhook_id)
    platform_overview(view)  # the platform's time zone for "a week ago" and the dates
    error, count, day = None, 0, None
    try:
        day = _since(view, since)
        count = stats.failed_since(view.ctx, pid, webhook_id, day)
    except InvalidInput:
        error = view.t("recover.bad_date")
    return view.render(
        "webhooks/recover.html",
        status_code=422 if error else 200,
        webhook=webhook,
        since=day.isoformat() if day else (since or ""),
        count=count,
        done=done,
        error=error,
    )


@router.get("/webhooks/{webhook_id}/recover")
def recover_preview(
    view: MemberPage, webhook_id: str, since: str | None = None, done: int | None = None
) -> Response:
    return _recover_page(view, webhook_id, since, done=done)


@router.post("/webhooks/{webhook_id}/recover")
def recover(view: MemberAction, webhook_id: str, since: Annotated[str, Form()] = "") -> Response:
    pid = view.platform_id
    platform_overview(view)
    try:
        day = _since(view, since)
        count = deliveries.recover(view.ctx, pid, webhook_id, day, None)
    except InvalidInput:
        return _recover_page(view, webhook_id, since)
    return view.redirect(f"/webhooks/{webhook_id}/recover?since={day.isoformat()}&done={count}")
