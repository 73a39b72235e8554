"""Marketers' use cases: the platform's LINE channel and its message templates.

The channel access token is sealed with the server's secret box at rest and never
read back out through any face: only a push decrypts it, to call LINE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hookline.domain.errors import FieldError, InvalidInput
from hookline.domain.line_messages import check_messages, placeholders
from hookline.domain.messaging import MAX_CHANNEL_TOKEN, TemplateNotFound
from hookline.domain.models import CLI_ACTOR, Actor
from hookline.domain.text import data_refusal
from hookline.services.context import Context
from hookline.services.platforms import lock_platform
from hookline.services.validation import FieldErrors, clean_name, clean_text
from hookline.store import messaging as store
from hookline.store import platforms as platform_store
from hookline.store.messaging import TemplateRow


@dataclass(frozen=True)
class Template:
    id: int
    name: str
    messages: list[Any]
    parameters: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: TemplateRow) -> Template:
        return cls(
            id=row.id,
            name=row.name,
            messages=row.messages,
            parameters=sorted(placeholders(row.messages)),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def _audit(
    ctx: Context, conn: Any, platform_id: str, actor: Actor, action: str, target: str
) -> None:
    platform_store.record_audit(
        conn, platform_id=platform_id, actor=actor, action=action, target_id=target, now=ctx.clock()
    )


def clean_channel_token(token: str) -> str:
    token = clean_text(token, "channel_access_token").strip()
    if not 1 <= len(token) <= MAX_CHANNEL_TOKEN or not token.isascii() or " " in token:
        raise InvalidInput.single(
            "channel_access_token",
            "invalid",
            f"channel_access_token must be 1 to {MAX_CHANNEL_TOKEN} ASCII characters, no spaces.",
        )
    return token


def set_line_channel(
    ctx: Context, platform_id: str, token: str, *, actor: Actor = CLI_ACTOR
) -> datetime:
    """Connect (or replace) the platform's LINE channel; answers when it was saved."""
    token = clean_channel_token(token)
    sealed = ctx.box.encrypt(token)
    now = ctx.clock()
    with ctx.db.write() as conn:
        lock_platform(ctx, conn, platform_id)
        store.set_channel(conn, platform_id, sealed, now)
        _audit(ctx, conn, platform_id, actor, "line_channel.set", platform_id)
    return now


def line_channel_since(ctx: Context, platform_id: str) -> datetime | None:
    """When the channel was connected (None: it is not); never the token itself."""
    with ctx.db.read() as conn:
        return store.channel_updated_at(conn, platform_id)


def line_channel_token(ctx: Context, platform_id: str) -> str | None:
    with ctx.db.read() as conn:
        sealed = store.sealed_channel(conn, platform_id)
    return None if sealed is None else ctx.box.decrypt(sealed)


def clean_messages(messages: Any) -> list[Any]:
    found = data_refusal(messages)
    if found is not None:
        field = "messages" + found[0].removeprefix("$")
        raise InvalidInput.single(field, found[1].code, found[1].message(field))
    errors: list[FieldError] = check_messages(messages)
    if errors:
        raise InvalidInput(errors)
    assert isinstance(messages, list)
    return messages


def create_template(
    ctx: Context, platform_id: str, name: str, messages: Any, *, actor: Actor = CLI_ACTOR
) -> Template:
    fields = FieldErrors()
    name = fields.check(clean_name, name)
    messages = fields.check(clean_messages, messages)
    fields.raise_if_any()
    now = ctx.clock()
    with ctx.db.write() as conn:
        lock_platform(ctx, conn, platform_id)
        template_id = store.insert_template(conn, platform_id, name, messages, now)
        _audit(ctx, conn, platform_id, actor, "template.create", str(template_id))
        row = store.get_template(conn, platform_id, template_id)
    assert row is not None
    return Template.of(row)


def _not_found(template_id: int) -> TemplateNotFound:
    return TemplateNotFound(f"No template has the id {template_id}.")


def get_template(ctx: Context, platform_id: str, template_id: int) -> Template:
    with ctx.db.read() as conn:
        row = store.get_template(conn, platform_id, template_id)
    if row is None:
        raise _not_found(template_id)
    return Template.of(row)


def list_templates(ctx: Context, platform_id: str) -> list[Template]:
    with ctx.db.read() as conn:
        return [Template.of(r) for r in store.list_templates(conn, platform_id)]


def update_template(
    ctx: Context,
    platform_id: str,
    template_id: int,
    *,
    name: str | None = None,
    messages: Any = None,
    actor: Actor = CLI_ACTOR,
) -> Template:
    fields = FieldErrors()
    values: dict[str, object] = {}
    if name is not None:
        values["name"] = fields.check(clean_name, name)
    if messages is not None:
        values["messages"] = fields.check(clean_messages, messages)
    fields.raise_if_any()
    with ctx.db.write() as conn:
        if store.get_template(conn, platform_id, template_id) is None:
            raise _not_found(template_id)
        if values:
            store.update_template(conn, platform_id, template_id, ctx.clock(), **values)
            _audit(ctx, conn, platform_id, actor, "template.update", str(template_id))
        row = store.get_template(conn, platform_id, template_id)
    assert row is not None
    return Template.of(row)


def delete_template(
    ctx: Context, platform_id: str, template_id: int, *, actor: Actor = CLI_ACTOR
) -> None:
    with ctx.db.write() as conn:
        if not store.delete_template(conn, platform_id, template_id, ctx.clock()):
            raise _not_found(template_id)
        _audit(ctx, conn, platform_id, actor, "template.delete", str(template_id))
