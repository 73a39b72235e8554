"""The demo platform that ``hookline serve --demo`` seeds once and prints on every start.

Tokens and passwords are stored hashed, so the demo's own token and its two dashboard
logins (a member of the demo platform, an operator) are kept in the data dir (mode
0600) to be printed again on the next ``make run``. This is for a local trial only.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from hookline.catalog import ZONES
from hookline.domain.errors import PlatformNotFound
from hookline.domain.models import Actor, Role
from hookline.domain.secrets import (
    INGEST_TOKEN_PREFIX,
    OPERATOR_TOKEN_PREFIX,
    generate_token,
)
from hookline.services import platforms, users
from hookline.services.context import Context

DEMO_PLATFORM_NAME = "Demo platform"
LOOPBACK_NETWORKS = "127.0.0.0/8,::1/128"
DEMO_MEMBER_EMAIL = "demo@hookline.local"
DEMO_OPERATOR_EMAIL = "operator@hookline.local"
DEMO_ACTOR = Actor(kind="operator", id="demo")
_LOGIN_KEYS = ("member_email", "member_password", "operator_email", "operator_password")


@dataclass(frozen=True)
class DemoCredentials:
    platform_id: str
    api_token: str
    operator_token: str
    ingest_token: str
    member_email: str
    member_password: str
    operator_email: str
    operator_password: str


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _save(path: Path, creds: DemoCredentials) -> None:
    _write_private(path, json.dumps(asdict(creds)))


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def _ensure_login(
    ctx: Context,
    email: str,
    password: str,
    platform_id: str | None,
    *,
    replace: bool,
) -> None:
    """Make the printed login work: create it when missing, recreate it when stale.

    ``replace`` is for a fresh seed, whose new password an older user of the same
    email (a database kept while the credentials file was lost) would not know.
    """
    role = Role.OPERATOR if platform_id is None else Role.MEMBER
    existing = users.find_user_by_email(ctx, email)
    if existing is not None:
        if not replace and existing.platform_id == platform_id and existing.role is role:
            return
        users.delete_user(ctx, existing.id, actor=DEMO_ACTOR)
    users.create_user(
        ctx,
        email=email,
        password=password,
        role=role,
        platform_id=platform_id,
        actor=DEMO_ACTOR,
    )


def _ensure_logins(ctx: Context, creds: DemoCredentials, *, replace: bool) -> None:
    _ensure_login(
        ctx, creds.member_email, creds.member_password, creds.platform_id, replace=replace
    )
    _ensure_login(ctx, creds.operator_email, creds.operator_password, None, replace=replace)


def ensure_demo(
    ctx: Context, data_dir: Path, operator_token: str | None, ingest_token: str | None = None
) -> DemoCredentials:
    """Seed the demo platform on first start; afterwards read back what was seeded."""
    path = data_dir / "demo-credentials.json"
    if path.exists():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            platforms.get_platform(ctx, saved["platform_id"])
            creds = DemoCredentials(
                platform_id=saved["platform_id"],
                api_token=saved["api_token"],
                operator_token=operator_token or saved["operator_token"],
                ingest_token=ingest_token
                or saved.get("ingest_token")
                or generate_token(INGEST_TOKEN_PREFIX),
                member_email=saved.get("member_email") or DEMO_MEMBER_EMAIL,
                member_password=saved.get("member_password") or _new_password(),
                operator_email=saved.get("operator_email") or DEMO_OPERATOR_EMAIL,
                operator_password=saved.get("operator_password") or _new_password(),
            )
            missing = any(k not in saved for k in ("ingest_token", *_LOGIN_KEYS))
            _ensure_logins(ctx, creds, replace=missing)
            if missing:  # a file written before ingest or the dashboard logins existed
                _save(path, creds)
            return creds
        except (PlatformNotFound, KeyError, TypeError, ValueError):
            path.unlink()  # the database was reset under the file, or it is damaged: seed again
    created = platforms.create_platform(ctx, DEMO_PLATFORM_NAME, actor=DEMO_ACTOR)
    until = ctx.clock() + timedelta(days=365)
    for zone in ZONES:
        platforms.set_zone(ctx, created.platform.id, zone, until, actor=DEMO_ACTOR)
    creds = DemoCredentials(
        platform_id=created.platform.id,
        api_token=created.api_token,
        operator_token=operator_token or generate_token(OPERATOR_TOKEN_PREFIX),
        ingest_token=ingest_token or generate_token(INGEST_TOKEN_PREFIX),
        member_email=DEMO_MEMBER_EMAIL,
        member_password=_new_password(),
        operator_email=DEMO_OPERATOR_EMAIL,
        operator_password=_new_password(),
    )
    _ensure_logins(ctx, creds, replace=True)
    _save(path, creds)
    return creds
