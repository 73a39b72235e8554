"""The marketer's Open API pages: the LINE channel, templates, message events.

One overview page (``/messaging``) holds the channel, the templates and the events
with their opens and clicks; a template is edited as JSON with a readable preview
beside it. Like the rest of the dashboard, these are the same use cases the JSON API
calls, and errors are shown translated by their code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Form, Path
from fastapi.responses import Response

from hookline.domain.errors import FieldError, HooklineError, InvalidInput, StorageUnavailable
from hookline.services import messaging, templates
from hookline.web.pages import platform_overview
from hookline.web.routing import dashboard_router
from hookline.web.view import MemberAction, MemberPage, View

router = dashboard_router()
NOTICES = frozenset({"line_saved", "event_created", "template_saved", "template_deleted"})
TemplateId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@dataclass(frozen=True)
class PreviewItem:
    """One message as a marketer reads it: its kind and its words, no JSON."""

    kind: str
    lines: list[str] = field(default_factory=list)


def _texts(node: Any) -> list[str]:
    """The words a flex message shows (its text components), in order."""
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if node.get("type") == "text" and isinstance(node.get("text"), str) else []
    return own + [t for key, value in node.items() if key != "text" for t in _texts(value)]


def preview(messages: list[Any]) -> list[PreviewItem]:
    items = []
    for message in messages:
        kind = str(message.get("type", "")) if isinstance(message, dict) else ""
        if kind == "text":
            items.append(PreviewItem("text", [str(message.get("text", ""))]))
        elif kind == "image":
            items.append(PreviewItem("image", [str(message.get("originalContentUrl", ""))]))
        elif kind == "imagemap":
            items.append(PreviewItem("imagemap", [str(message.get("altText", ""))]))
        elif kind == "flex":
            texts = _texts(message.get("contents"))
            items.append(PreviewItem("flex", [str(message.get("altText", "")), *texts]))
    return items


def _field_errors(view: View, exc: HooklineError) -> list[str]:
    if isinstance(exc, InvalidInput):
        return [_field_text(view, e) for e in exc.errors]
    return [view.error_text(exc, "messaging.error")]


def _field_text(view: View, error: FieldError) -> str:
    return f"{error.field}: {view.field_text(error, 'messaging.field')}"


@router.get("/messaging")
def overview_page(view: MemberPage, notice: str | None = None) -> Response:
    return _overview(view, notice=notice)


def _overview(
    view: View,
    *,
    notice: str | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    pid = view.platform_id
    platform_overview(view)
    found = templates.list_templates(view.ctx, pid)
    return view.render(
        "messaging/overview.html",
        status_code=status_code,
        channel_since=templates.line_channel_since(view.ctx, pid),
        templates=[(t, preview(t.messages)) for t in found],
        events=messaging.event_summaries(view.ctx, pid),
        notice=notice if notice in NOTICES else None,
        errors=errors or {},
    )


def _saved_or_errors(view: View, form: str, action: Any, notice: str) -> Response:
    try:
        action()
    except StorageUnavailable:
        raise
    except HooklineError as exc:
        return _overview(view, errors={form: _field_errors(view, exc)}, status_code=422)
    return view.redirect(f"/messaging?notice={notice}")


@router.post("/messaging/line")
def save_line_channel(
    view: MemberAction, channel_access_token: Annotated[str, Form()] = ""
) -> Response:
    def save() -> None:
        templates.set_line_channel(
            view.ctx, view.platform_id, channel_access_token, actor=view.actor
        )

    return _saved_or_errors(view, "line", save, "line_saved")


@router.post("/messaging/events")
def create_event(view: MemberAction, name: Annotated[str, Form()] = "") -> Response:
    return _saved_or_errors(
        view,
        "event",
        lambda: messaging.create_event(view.ctx, view.platform_id, name),
        "event_created",
    )


# --- a template's editor ---------------------------------------------------------------


def _editor(
    view: View,
    *,
    template_id: int | None,
    name: str,
    source: str,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    try:
        parsed = json.loads(source)
    except ValueError:
        parsed = None
    return view.render(
        "messaging/template.html",
        status_code=status_code,
        template_id=template_id,
        name=name,
        source=source,
        preview=preview(parsed) if isinstance(parsed, list) else [],
        errors=errors or [],
    )


EXAMPLE = [
    {"type": "text", "text": "Hi {{name}}, here is your coupon."},
    {
        "type": "image",
        "originalContentUrl": "https://example.com/coupon.png",
        "previewImageUrl": "https://example.com/coupon.png",
    },
]


@router.get("/messaging/templates/new")
def new_template(view: MemberPage) -> Response:
    platform_overview(view)
    source = json.dumps(EXAMPLE, indent=2, ensure_ascii=False)
    return _editor(view, template_id=None, name="", source=source)


@router.get("/messaging/templates/{template_id}")
def edit_template(view: MemberPage, template_id: TemplateId) -> Response:
    platform_overview(view)
    found = templates.get_template(view.ctx, view.platform_id, template_id)
    source = json.dumps(found.messages, indent=2, ensure_ascii=False)
    return _editor(view, template_id=found.id, name=found.name, source=source)


def _parse(view: View, source: str) -> Any:
    try:
        return json.loads(source)
    except ValueError:
        raise InvalidInput.single("messages", "invalid_json", "messages is not JSON.") from None


def _save(view: View, template_id: int | None, name: str, source: str) -> Response:
    platform_overview(view)
    try:
        messages = _parse(view, source)
        if template_id is None:
            templates.create_template(view.ctx, view.platform_id, name, messages, actor=view.actor)
        else:
            templates.update_template(
                view.ctx, view.platform_id, template_id, name=name, messages=messages,
                actor=view.actor,
            )  # fmt: skip
    except StorageUnavailable:
        raise
    except InvalidInput as exc:
        errors = _field_errors(view, exc)
        return _editor(
            view, template_id=template_id, name=name, source=source, errors=errors, status_code=422
        )
    return view.redirect("/messaging?notice=template_saved")


@router.post("/messaging/templates/new")
def create_template(
    view: MemberAction, name: Annotated[str, Form()] = "", messages: Annotated[str, Form()] = ""
) -> Response:
    return _save(view, None, name, messages)


@router.post("/messaging/templates/{template_id}")
def update_template(
    view: MemberAction,
    template_id: TemplateId,
    name: Annotated[str, Form()] = "",
    messages: Annotated[str, Form()] = "",
) -> Response:
    return _save(view, template_id, name, messages)


@router.post("/messaging/templates/{template_id}/delete")
def delete_template(view: MemberAction, template_id: TemplateId) -> Response:
    templates.delete_template(view.ctx, view.platform_id, template_id, actor=view.actor)
    return view.redirect("/messaging?notice=template_deleted")
