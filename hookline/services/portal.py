"""The embeddable dashboard's way in: one-use links that sign a member in.

An operator's product, which has already signed its own user in, asks for a link
(``POST /v1/admin/platforms/{id}/portal-links``) and puts it in an iframe or a
redirect. The link works once and for at most ten minutes; only its hash is kept, as
for sessions and API tokens. A new email becomes a member of that platform (with an
unusable random password: they come in through links). An email that is another
platform's member, or an operator's, is refused: a link never crosses tenants.
"""

from __future__ import annotations

import secrets as py_secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from hookline.domain import secrets
from hookline.domain.errors import (
    EmailTaken,
    InvalidInput,
    PortalLinkExpired,
    PortalLinkUnknown,
    PortalLinkUsed,
)
from hookline.domain.models import Actor, Role, User
from hookline.services import users
from hookline.services.context import Context
from hookline.services.platforms import get_platform
from hookline.store import alert_sends as alert_store
from hookline.store import portal as store
from hookline.store import users as user_store
from hookline.store.platforms import record_audit

MAX_TTL_SECONDS = 600
DEFAULT_TTL_SECONDS = 300
PORTAL_TOKEN_PREFIX = "hlp_"  # noqa: S105 - a prefix, not a secret
SHARED_MEMBER_DOMAIN = "portal.invalid"
"""Without an email the link signs in the platform's one shared portal member, whose
address (RFC 2606's reserved ``.invalid``) receives no mail, so its alerts are off."""


@dataclass(frozen=True)
class PortalLink:
    token: str
    expires_at: datetime
    user: User
    created_user: bool


def clean_ttl(ttl_seconds: int) -> int:
    if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise InvalidInput.single(
            "ttl_seconds",
            "out_of_range",
            f"ttl_seconds must be 1 to {MAX_TTL_SECONDS} (a link lives ten minutes at most).",
        )
    return ttl_seconds


def _member(ctx: Context, platform_id: str, email: str | None, actor: Actor) -> tuple[User, bool]:
    """The platform's member with ``email`` (created when new), or its shared member."""
    shared = email is None
    shared_address = f"portal-{platform_id.lower()}@{SHARED_MEMBER_DOMAIN}"
    address = users.clean_email(shared_address if email is None else email)
    found = users.find_user_by_email(ctx, address)
    created = False
    if found is None:
        try:
            found = users.create_user(
                ctx,
                email=address,
                password=py_secrets.token_urlsafe(32),  # never told: links are the way in
                role=Role.MEMBER,
                platform_id=platform_id,
                actor=actor,
            )
            created = True
        except EmailTaken:  # created meanwhile by a concurrent request
            found = users.find_user_by_email(ctx, address)
        if found is not None and created and shared:
            with ctx.db.write() as conn:
                alert_store.set_user_alerts(conn, found.id, email_alerts=False, language=None)
    if found is None or found.role is not Role.MEMBER or found.platform_id != platform_id:
        raise EmailTaken(address)
    return found, created


def create_link(
    ctx: Context, platform_id: str, email: str | None, ttl_seconds: int, actor: Actor
) -> PortalLink:
    """A one-use link for ``email`` (or the shared member) of ``platform_id``. Audited."""
    clean_ttl(ttl_seconds)
    get_platform(ctx, platform_id)  # PlatformNotFound
    user, created = _member(ctx, platform_id, email, actor)
    token = secrets.generate_token(PORTAL_TOKEN_PREFIX)
    now = ctx.clock()
    expires_at = now + timedelta(seconds=ttl_seconds)
    with ctx.db.write() as conn:
        store.purge_links(conn, now - timedelta(days=1))
        store.insert_link(
            conn,
            token_hash=secrets.hash_token(token),
            platform_id=platform_id,
            user_id=user.id,
            now=now,
            expires_at=expires_at,
        )
        record_audit(
            conn,
            platform_id=platform_id,
            actor=actor,
            action="portal_link.create",
            target_id=user.id,
            now=now,
        )
    return PortalLink(token, expires_at, user, created)


def sign_in(ctx: Context, token: str) -> users.LoginResult:
    """Spend the link and open a session for its member; refused links raise."""
    now = ctx.clock()
    session = secrets.generate_token(users.SESSION_TOKEN_PREFIX)
    expires_at = now + users.SESSION_LIFETIME
    with ctx.db.write() as conn:
        used = store.use_link(conn, secrets.hash_token(token), now)
        if used is store.Refusal.UNKNOWN:
            raise PortalLinkUnknown()
        if used is store.Refusal.USED:
            raise PortalLinkUsed()
        if used is store.Refusal.EXPIRED:
            raise PortalLinkExpired()
        assert isinstance(used, str)
        user = user_store.get_user(conn, used)
        if user is None:  # deleted since the link was made
            raise PortalLinkUnknown()
        user_store.insert_session(
            conn,
            token_hash=secrets.hash_token(session),
            user_id=user.id,
            now=now,
            expires_at=expires_at,
        )
    return users.LoginResult(token=session, user=user, expires_at=expires_at)
