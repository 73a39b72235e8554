"""The alert settings: the operator's operational webhook, each user's email alerts.

The operational webhook's URL passes the same checks as any webhook's (SSRF, scheme)
when saved, and again at send time in the sender. Its signing secret is generated
here, sealed with the context's secret box, and shown once, when it is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hookline.domain import secrets
from hookline.domain.alert_texts import LANGUAGES
from hookline.domain.errors import InvalidInput
from hookline.domain.models import Actor
from hookline.services.context import Context
from hookline.services.users import get_user
from hookline.services.validation import clean_url
from hookline.store import alert_sends as store
from hookline.store.platforms import record_audit


@dataclass(frozen=True)
class OpsHookView:
    url: str | None
    updated_at: datetime | None
    secret: str | None = None
    """Only in the answer that created it."""


def ops_hook(ctx: Context) -> OpsHookView:
    with ctx.db.read() as conn:
        hook = store.get_ops_hook(conn)
    return OpsHookView(None, None) if hook is None else OpsHookView(hook.url, hook.updated_at)


def set_ops_hook(ctx: Context, url: str | None, actor: Actor) -> OpsHookView:
    """Set the operational webhook's URL (a new secret, shown once) or clear it (None)."""
    cleaned = None if url is None or url == "" else clean_url(ctx, url)
    secret = secrets.generate_share_secret() if cleaned else None
    now = ctx.clock()
    with ctx.db.write() as conn:
        store.set_ops_hook(conn, cleaned, ctx.box.encrypt(secret) if secret else None, now)
        record_audit(
            conn,
            platform_id=None,
            actor=actor,
            action="alerts.ops_webhook.set" if cleaned else "alerts.ops_webhook.clear",
            target_id=None,
            now=now,
        )
    return OpsHookView(cleaned, now if cleaned else None, secret)


@dataclass(frozen=True)
class UserAlerts:
    email_alerts: bool
    language: str | None


def clean_language(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput.single(
            "language", "unknown_language", f"language must be one of: {', '.join(LANGUAGES)}."
        )
    return language


def user_alerts(ctx: Context, user_id: str) -> UserAlerts:
    get_user(ctx, user_id)  # UserNotFound when there is no such user
    with ctx.db.read() as conn:
        found = store.user_alerts(conn, user_id)
    return UserAlerts(*found) if found else UserAlerts(True, None)


def set_user_alerts(
    ctx: Context,
    user_id: str,
    actor: Actor,
    *,
    email_alerts: bool | None = None,
    language: str | None = None,
) -> UserAlerts:
    """A user's own choice (or an operator's for them): emails on or off, and in which
    language. Audited, so a member who stops hearing of failures can see who chose it."""
    if language is not None:
        clean_language(language)
    user = get_user(ctx, user_id)
    now = ctx.clock()
    with ctx.db.write() as conn:
        store.set_user_alerts(conn, user_id, email_alerts=email_alerts, language=language)
        record_audit(
            conn,
            platform_id=user.platform_id,
            actor=actor,
            action="user.alerts.update",
            target_id=user_id,
            now=now,
        )
        found = store.user_alerts(conn, user_id)
    assert found is not None
    return UserAlerts(*found)


def remember_language(ctx: Context, user_id: str, language: str) -> None:
    """At sign-in: alert emails follow the dashboard's language until the user picks one
    in Settings, so a member reading Chinese pages gets Chinese emails without asking."""
    if language in LANGUAGES:
        with ctx.db.write() as conn:
            store.remember_language(conn, user_id, language)
