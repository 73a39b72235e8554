"""Dashboard users: accounts, password logins with throttling, and login sessions.

Passwords are hashed with argon2 (slow on purpose: unlike API tokens they are guessable).
A login returns a random session token; the web layer puts it in an HttpOnly cookie
and the store keeps only its SHA-256, so a leaked database opens no session.

Failed logins are counted per email, known or not: after ``THROTTLE_AFTER`` failures
in a row each further attempt must wait ``login_wait(failures)`` after the last one,
and is refused without looking at the password. Unknown emails spend an argon2
verification too, so neither the answer nor its timing tells whether an email exists.
"""

from __future__ import annotations

import functools
import math
import re
import secrets as py_secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hookline.domain import secrets
from hookline.domain.errors import (
    EmailTaken,
    FieldError,
    InvalidInput,
    InvalidLogin,
    LoginThrottled,
    UserNotFound,
)
from hookline.domain.models import CLI_ACTOR, Actor, Role, User
from hookline.domain.text import text_refusal, unicode_refusal
from hookline.services.context import Context
from hookline.services.platforms import lock_platform, platform_not_found
from hookline.services.validation import FieldErrors, clean_text, refused
from hookline.store import platforms as platform_store
from hookline.store import users as store

SESSION_LIFETIME = timedelta(hours=12)
"""Absolute: a session ends 12 hours after its login, however busy it was."""
SESSION_TOKEN_PREFIX = "hls_"  # noqa: S105 - a prefix, not a secret
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
"""``last_seen_at`` is written at most this often, not on every dashboard request."""
THROTTLE_AFTER = 3
MAX_LOGIN_WAIT_SECONDS = 300
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

HASHER = PasswordHasher()
"""argon2id with the library's current recommended costs; tests swap in a cheaper one."""


@dataclass(frozen=True)
class LoginResult:
    token: str
    """The session token: shown to the browser once (as a cookie), stored only hashed."""
    user: User
    expires_at: datetime


def login_wait(failures: int) -> int:
    """Seconds the next attempt must wait after the last of ``failures`` failures in a row."""
    if failures < THROTTLE_AFTER:
        return 0
    return int(min(2 ** (failures - THROTTLE_AFTER), MAX_LOGIN_WAIT_SECONDS))


def normalize_email(email: str) -> str:
    return email.strip().lower()


def clean_email(email: str) -> str:
    cleaned = normalize_email(clean_text(email, "email"))
    if len(cleaned) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(cleaned):
        raise InvalidInput.single(
            "email", "invalid_email", "email must look like name@example.com."
        )
    return cleaned


def clean_password(password: str, *, field: str = "password") -> str:
    refusal = unicode_refusal(password)  # any character may be in a password, but no half one
    if refusal is not None:
        raise refused(field, refusal)
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput.single(
            field,
            "invalid_password_length",
            f"{field} must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long.",
        )
    return password


def clean_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput.single(
            "role", "unknown_role", f"role must be one of {', '.join(r.value for r in Role)}."
        ) from None


def create_user(
    ctx: Context,
    *,
    email: str,
    password: str,
    role: Role | str,
    platform_id: str | None,
    actor: Actor = CLI_ACTOR,
) -> User:
    """A member of one platform, or an operator (no platform). Audited."""
    fields = FieldErrors()
    email = fields.check(clean_email, email)
    fields.check(clean_password, password)
    cleaned_role = fields.check(clean_role, role)
    if cleaned_role is Role.MEMBER and not platform_id:
        fields.errors.append(
            FieldError("platform_id", "platform_required", "platform_id is required for a member.")
        )
    if cleaned_role is Role.OPERATOR and platform_id:
        fields.errors.append(
            FieldError(
                "platform_id",
                "operator_has_no_platform",
                "platform_id must be empty for an operator: operators see every platform.",
            )
        )
    fields.raise_if_any()
    password_hash = HASHER.hash(password)  # slow: before the write transaction
    now = ctx.clock()
    with ctx.db.write() as conn:
        if platform_id is not None:
            lock_platform(ctx, conn, platform_id)
        user = store.insert_user(
            conn,
            email=email,
            password_hash=password_hash,
            role=cleaned_role,
            platform_id=platform_id,
            now=now,
        )
        if user is None:
            raise EmailTaken(email)
        platform_store.record_audit(
            conn,
            platform_id=platform_id,
            actor=actor,
            action="user.create",
            target_id=user.id,
            now=now,
        )
    return user


def list_users(ctx: Context, platform_id: str | None) -> list[User]:
    """A platform's members by email, or the operators when ``platform_id`` is None."""
    with ctx.db.read() as conn:
        if platform_id is not None and platform_store.get_platform(conn, platform_id) is None:
            raise platform_not_found(platform_id)
        return store.list_users(conn, platform_id)


def get_user(ctx: Context, user_id: str) -> User:
    with ctx.db.read() as conn:
        user = store.get_user(conn, user_id)
    if user is None:
        raise _user_not_found(user_id)
    return user


def find_user_by_email(ctx: Context, email: str) -> User | None:
    if text_refusal(email) is not None:
        return None  # no stored email holds such characters
    with ctx.db.read() as conn:
        found = store.find_credentials(conn, normalize_email(email))
    return None if found is None else found.user


def delete_user(ctx: Context, user_id: str, *, actor: Actor = CLI_ACTOR) -> None:
    """Remove a user and end their sessions at once. Audited."""
    now = ctx.clock()
    with ctx.db.write() as conn:
        user = store.get_user(conn, user_id)
        if user is None or not store.delete_user(conn, user_id):
            raise _user_not_found(user_id)
        platform_store.record_audit(
            conn,
            platform_id=user.platform_id,
            actor=actor,
            action="user.delete",
            target_id=user_id,
            now=now,
        )


def set_password(ctx: Context, user_id: str, password: str, *, actor: Actor = CLI_ACTOR) -> None:
    """Replace a user's password; their sessions end and their failure count resets."""
    clean_password(password)
    password_hash = HASHER.hash(password)
    now = ctx.clock()
    with ctx.db.write() as conn:
        user = store.get_user(conn, user_id)
        if user is None:
            raise _user_not_found(user_id)
        store.set_password_hash(conn, user_id, password_hash)
        store.delete_sessions_of(conn, user_id)
        store.clear_failures(conn, user.email)
        platform_store.record_audit(
            conn,
            platform_id=user.platform_id,
            actor=actor,
            action="user.password.set",
            target_id=user_id,
            now=now,
        )


def login(ctx: Context, email: str, password: str) -> LoginResult:
    """A new session for a correct email and password.

    Raises ``LoginThrottled`` (the password is not checked) while this email must
    wait, ``InvalidLogin`` for a wrong email or password. The attempt is counted as a
    failure before the slow check and forgiven after it succeeds, so parallel guesses
    cannot all pass through one throttle window.
    """
    if text_refusal(email) is not None or unicode_refusal(password) is not None:
        raise InvalidLogin()  # no user can have it, so nothing to count or compare
    key = normalize_email(email)
    now = ctx.clock()
    with ctx.db.write() as conn:
        count = store.lock_failures(conn, key)
        if count is not None:
            wait_until = count.last_failed_at + timedelta(seconds=login_wait(count.failures))
            if now < wait_until:
                raise LoginThrottled(max(1, math.ceil((wait_until - now).total_seconds())))
        store.record_failure(conn, key, now)
        found = store.find_credentials(conn, key)
    if found is None:
        _verify(_dummy_hash(HASHER), password)  # same cost as a real check
        raise InvalidLogin()
    if not _verify(found.password_hash, password):
        raise InvalidLogin()
    new_hash = HASHER.hash(password) if HASHER.check_needs_rehash(found.password_hash) else None
    token = secrets.generate_token(SESSION_TOKEN_PREFIX)
    expires_at = now + SESSION_LIFETIME
    with ctx.db.write() as conn:
        store.clear_failures(conn, key)
        if new_hash is not None:
            store.set_password_hash(conn, found.user.id, new_hash)
        store.delete_expired_sessions(conn, found.user.id, now)
        store.insert_session(
            conn,
            token_hash=secrets.hash_token(token),
            user_id=found.user.id,
            now=now,
            expires_at=expires_at,
        )
    return LoginResult(token=token, user=found.user, expires_at=expires_at)


def session_user(ctx: Context, token: str) -> User | None:
    """The user of a live session token; None when unknown, logged out or expired."""
    if not token:
        return None
    token_hash = secrets.hash_token(token)
    now = ctx.clock()
    with ctx.db.read() as conn:
        found = store.find_session(conn, token_hash, now)
    if found is None:
        return None
    if now - found.last_seen_at >= SESSION_TOUCH_INTERVAL:
        with ctx.db.write() as conn:
            store.touch_session(conn, token_hash, now)
    return found.user


def logout(ctx: Context, token: str) -> None:
    """End a session; an unknown or already ended one is not an error."""
    if token:
        with ctx.db.write() as conn:
            store.delete_session(conn, secrets.hash_token(token))


def _verify(password_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of a random password, made once per hasher, to verify unknown emails against."""
    return hasher.hash(py_secrets.token_urlsafe(16))


def _user_not_found(user_id: str) -> UserNotFound:
    return UserNotFound(f"No user has the id '{user_id}'.")
