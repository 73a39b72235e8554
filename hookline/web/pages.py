"""The marketer's pages: webhook list, create, details, test send, delivery log.

Each page is one template rendered whole; htmx asks for the same page and swaps only
the part that changed (``hx-select``), so every action also works without JavaScript.
Errors of the use cases are shown translated by their ``code``, never as the English
message the JSON API returns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Form
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hookline.catalog import TOPICS
from hookline.domain.deliveries import DeliveryState
from hookline.domain.errors import (
    HooklineError,
    InvalidInput,
    StorageUnavailable,
    WebhookLimitReached,
    ZoneExpired,
    ZoneNotPurchased,
)
from hookline.domain.zones import ZoneValidity
from hookline.http.deps import SendDep
from hookline.services import deliveries, platforms, reports, stats, webhooks
from hookline.services.deliveries import SentNow
from hookline.services.platforms import PlatformOverview, ZoneState
from hookline.web import chart
from hookline.web.controls_form import ControlsDep, ControlsForm
from hookline.web.routing import dashboard_router
from hookline.web.verdict import explain
from hookline.web.view import MemberAction, MemberPage, View

router = dashboard_router()

LIST_PAGE_SIZE = 50
LOG_PAGE_SIZE = 20
GRACE_CHOICES = (0, 3600, 86400, 7 * 86400)
NOTICES = frozenset({"created", "stopped", "resumed", "deleted", "secret_changed", "updated"})


@dataclass(frozen=True)
class TopicChoice:
    name: str
    zone: int
    refusal: str | None  # translated reason it cannot be chosen, None when it can


def platform_overview(view: View) -> PlatformOverview:
    """The member's platform; its time zone becomes the page's, for every time shown."""
    overview = platforms.overview(view.ctx, view.platform_id)
    view.timezone = overview.platform.timezone
    return overview


def zone_refusal(view: View, zone: ZoneState) -> str | None:
    if zone.validity is ZoneValidity.NOT_PURCHASED:
        return view.t("zone.not_purchased", zone=zone.zone)
    if zone.validity is ZoneValidity.EXPIRED and zone.valid_until is not None:
        return view.t("zone.expired", zone=zone.zone, date=view.local_time(zone.valid_until))
    return None


def topic_choices(view: View, overview: PlatformOverview) -> list[TopicChoice]:
    zones = overview.zone_by_number
    return [
        TopicChoice(topic.name, topic.zone, zone_refusal(view, zones[topic.zone]))
        for topic in TOPICS.values()
    ]


def form_errors(view: View, exc: HooklineError) -> dict[str, str]:
    """Field -> translated message; ``_form`` holds what belongs to no single field."""
    if isinstance(exc, InvalidInput):
        out: dict[str, str] = {}
        for error in exc.errors:
            out.setdefault(error.field.split("[")[0].split(".")[0], view.field_text(error))
        return out
    if isinstance(exc, ZoneNotPurchased):
        return {"topics": view.t("zone.not_purchased", zone=exc.extra.get("zone", "?"))}
    if isinstance(exc, ZoneExpired):
        return {"topics": view.t("zone.expired_short", zone=exc.extra.get("zone", "?"))}
    return {"_form": error_message(view, exc)}


def error_message(view: View, exc: HooklineError) -> str:
    if isinstance(exc, WebhookLimitReached):
        working = int(exc.extra.get("working", 0))
        return view.t.plural(
            "limit.reached", working, working=working, limit=exc.extra.get("limit")
        )
    if isinstance(exc, ZoneNotPurchased | ZoneExpired | InvalidInput):
        return next(iter(form_errors(view, exc).values()))
    return view.error_text(exc)


# --- the list --------------------------------------------------------------------------


@router.get("/webhooks")
def webhook_list(
    view: MemberPage, cursor: str | None = None, notice: str | None = None
) -> Response:
    pid = view.platform_id
    overview = platform_overview(view)
    page = webhooks.list_webhooks(view.ctx, pid, limit=LIST_PAGE_SIZE, cursor=cursor)
    results = reports.last_results(view.ctx, pid, [w.id for w in page.items])
    return view.render(
        "webhooks/list.html",
        overview=overview,
        page=page,
        results=results,
        health=stats.health_of(view.ctx, pid, [w.id for w in page.items]),
        no_zone=all(c.refusal for c in topic_choices(view, overview)),
        topics=TOPICS,
        notice=notice if notice in NOTICES else None,
    )


# --- create ----------------------------------------------------------------------------


def _create_page(
    view: View,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    controls: ControlsForm | None = None,
) -> Response:
    overview = platform_overview(view)
    return view.render(
        "webhooks/new.html",
        controls=controls or ControlsForm(),
        status_code=status_code,
        overview=overview,
        choices=topic_choices(view, overview),
        values=values or {"name": "", "url": "", "topics": []},
        errors=errors or {},
    )


@router.get("/webhooks/new")
def new_webhook(view: MemberPage) -> Response:
    return _create_page(view)


@router.post("/webhooks/new")
def create_webhook(
    view: MemberAction,
    controls: ControlsDep,
    name: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    topics: Annotated[list[str] | None, Form()] = None,
) -> Response:
    chosen = topics or []
    try:
        given = controls.given()
        webhook = webhooks.create_webhook(
            view.ctx,
            view.platform_id,
            name=name,
            url=url,
            topics=chosen,
            given=given,
            actor=view.actor,
        )
    except StorageUnavailable:
        raise  # not the form's fault: the error page says so (DashboardRoute)
    except HooklineError as exc:
        values, errors = {"name": name, "url": url, "topics": chosen}, form_errors(view, exc)
        return _create_page(view, values=values, errors=errors, status_code=422, controls=controls)
    return view.redirect(f"/webhooks/{webhook.id}?notice=created")


# --- details ---------------------------------------------------------------------------


def _log_filters(state: str | None, topic: str | None) -> tuple[str | None, str | None]:
    """Unknown filter values are dropped, not errors: they come from a URL a person edits."""
    states = {s.value for s in DeliveryState}
    return (state if state in states else None, topic if topic in TOPICS else None)


def details_page(
    view: View,
    webhook_id: str,
    *,
    state: str | None = None,
    topic: str | None = None,
    cursor: str | None = None,
    notice: str | None = None,
    error: str | None = None,
    secret: str | None = None,
    sent: SentNow | None = None,
    sent_topic: str | None = None,
    status_code: int = 200,
) -> Response:
    pid = view.platform_id
    webhook = webhooks.get_webhook(view.ctx, pid, webhook_id)
    overview = platform_overview(view)
    state, topic = _log_filters(state, topic)
    log, next_cursor = deliveries.list_deliveries(
        view.ctx,
        pid,
        webhook_id,
        state=state,
        topic=topic,
        cursor=cursor,
        limit=LOG_PAGE_SIZE,
    )
    return view.render(
        "webhooks/detail.html",
        status_code=status_code,
        webhook=webhook,
        overview=overview,
        topics=TOPICS,
        log=log,
        next_cursor=next_cursor,
        filters={"state": state or "", "topic": topic or ""},
        states=[s.value for s in DeliveryState],
        chart=chart.build(reports.hourly_outcomes(view.ctx, pid, webhook_id)),
        health=[stats.webhook_stats(view.ctx, pid, webhook_id, w) for w in stats.WINDOWS],
        notice=notice if notice in NOTICES else None,
        error=error,
        secret=secret,
        sent=sent,
        sent_topic=sent_topic or (webhook.topics[0] if webhook.topics else None),
        verdict=explain(sent.result) if sent else None,
        grace_choices=GRACE_CHOICES,
        signing=webhooks.secret_windows(view.ctx, pid, webhook_id),
        sent_headers=_pretty_headers(sent) if sent else "",
        sent_body=pretty_body(sent.request_body) if sent else "",
        readable_body=readable(sent.request_body) if sent else "",
    )


def _pretty_headers(sent: SentNow) -> str:
    return "\n".join(f"{name}: {value}" for name, value in sent.request_headers.items())


def pretty_body(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def readable(body: bytes) -> str:
    """The body indented, Chinese shown as characters: the exact bytes escape non-ASCII."""
    try:
        return json.dumps(json.loads(body), ensure_ascii=False, indent=2)
    except ValueError:
        return ""


@router.get("/webhooks/{webhook_id}")
def webhook_details(
    view: MemberPage,
    webhook_id: str,
    state: str | None = None,
    topic: str | None = None,
    cursor: str | None = None,
    notice: str | None = None,
) -> Response:
    return details_page(view, webhook_id, state=state, topic=topic, cursor=cursor, notice=notice)


def _change(view: View, webhook_id: str, action: str) -> Response:
    pid = view.platform_id
    try:
        if action == "stop":
            webhooks.stop_webhook(view.ctx, pid, webhook_id, actor=view.actor)
            return view.redirect(f"/webhooks/{webhook_id}?notice=stopped")
        if action == "resume":
            webhooks.resume_webhook(view.ctx, pid, webhook_id, actor=view.actor)
            return view.redirect(f"/webhooks/{webhook_id}?notice=resumed")
        webhooks.delete_webhook(view.ctx, pid, webhook_id, actor=view.actor)
        return view.redirect("/webhooks?notice=deleted")
    except (WebhookLimitReached, ZoneExpired, ZoneNotPurchased) as exc:
        return details_page(view, webhook_id, error=error_message(view, exc), status_code=409)


@router.post("/webhooks/{webhook_id}/stop")
def stop(view: MemberAction, webhook_id: str) -> Response:
    return _change(view, webhook_id, "stop")


@router.post("/webhooks/{webhook_id}/resume")
def resume(view: MemberAction, webhook_id: str) -> Response:
    return _change(view, webhook_id, "resume")


@router.post("/webhooks/{webhook_id}/delete")
def delete(view: MemberAction, webhook_id: str) -> Response:
    return _change(view, webhook_id, "delete")


@router.post("/webhooks/{webhook_id}/secret/uncover")
def uncover_secret(view: MemberAction, webhook_id: str) -> Response:
    secret = webhooks.reveal_secret(view.ctx, view.platform_id, webhook_id, view.actor)
    return details_page(view, webhook_id, secret=secret)


@router.post("/webhooks/{webhook_id}/secret/change")
def change_secret(
    view: MemberAction, webhook_id: str, grace_seconds: Annotated[int, Form()] = 0
) -> Response:
    if grace_seconds not in GRACE_CHOICES:
        grace_seconds = 0
    secret = webhooks.rotate_secret(
        view.ctx,
        view.platform_id,
        webhook_id,
        view.actor,
        expire_old_after_seconds=grace_seconds,
    )
    return details_page(view, webhook_id, secret=secret, notice="secret_changed")


@router.post("/webhooks/{webhook_id}/test")
async def send_test(
    view: MemberAction, send: SendDep, webhook_id: str, topic: Annotated[str, Form()] = ""
) -> Response:
    try:
        sent = await deliveries.send_test(view.ctx, send, view.platform_id, webhook_id, topic)
    except InvalidInput as exc:
        message = error_message(view, exc)
        return await run_in_threadpool(
            details_page, view, webhook_id, error=message, status_code=422
        )
    return await run_in_threadpool(details_page, view, webhook_id, sent=sent, sent_topic=topic)


@router.get("/help/engineers")
def engineer_help(view: MemberPage) -> Response:
    """What to hand the engineer who builds the receiving URL, in the marketer's language."""
    return view.render("help.html")


@router.get("/webhooks/{webhook_id}/{rest:path}")
def back_to_details(view: MemberPage, webhook_id: str, rest: str) -> Response:
    """A GET of an action's address (reload, language switch, bookmark) shows the page.

    Pages that answer a POST (a changed secret, a test result) keep the action's
    path in the address bar; links built from it must not end in a 405.
    """
    return view.redirect(f"/webhooks/{webhook_id}")
