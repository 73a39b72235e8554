"""Queries for dashboard users, their sessions and failed-login counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hookline.domain.ids import new_id
from hookline.domain.models import Role, User
from hookline.store.tables import login_failures, sessions, users


@dataclass(frozen=True)
class Credentials:
    """A user with the hash their password is checked against (stays inside services)."""

    user: User
    password_hash: str


@dataclass(frozen=True)
class FailureCount:
    failures: int
    last_failed_at: datetime


@dataclass(frozen=True)
class SessionUser:
    """The user behind a live session, and when the session was last used."""

    user: User
    last_seen_at: datetime


def _user(row: Any) -> User:
    return User(
        id=row.id,
        email=row.email,
        role=Role(row.role),
        platform_id=row.platform_id,
        created_at=row.created_at,
    )


def insert_user(
    conn: Connection,
    *,
    email: str,
    password_hash: str,
    role: Role,
    platform_id: str | None,
    now: datetime,
) -> User | None:
    """The new user, or None when the email is taken (also by a concurrent insert)."""
    user_id = new_id("usr")
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    result = conn.execute(
        dialect_insert(users)
        .values(
            id=user_id,
            email=email,
            password_hash=password_hash,
            role=role.value,
            platform_id=platform_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[users.c.email])
        .returning(users.c.id)
    ).first()
    if result is None:
        return None
    return User(id=user_id, email=email, role=role, platform_id=platform_id, created_at=now)


def get_user(conn: Connection, user_id: str) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return None if row is None else _user(row)


def find_credentials(conn: Connection, email: str) -> Credentials | None:
    row = conn.execute(select(users).where(users.c.email == email)).first()
    return None if row is None else Credentials(_user(row), row.password_hash)


def list_users(conn: Connection, platform_id: str | None) -> list[User]:
    """Members of one platform, or the operators when ``platform_id`` is None."""
    where = (
        users.c.platform_id.is_(None) if platform_id is None else users.c.platform_id == platform_id
    )
    rows = conn.execute(select(users).where(where).order_by(users.c.email)).all()
    return [_user(r) for r in rows]


def set_password_hash(conn: Connection, user_id: str, password_hash: str) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def delete_sessions_of(conn: Connection, user_id: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.user_id == user_id))


def delete_user(conn: Connection, user_id: str) -> bool:
    delete_sessions_of(conn, user_id)
    return conn.execute(delete(users).where(users.c.id == user_id)).rowcount == 1


def lock_failures(conn: Connection, email: str) -> FailureCount | None:
    """This email's failed-login counter, row-locked on PostgreSQL until the commit.

    Concurrent attempts for one email then see each other's failures, so parallel
    guesses cannot all slip through one throttle window (SQLite's writers are
    serialised anyway).
    """
    query = select(login_failures).where(login_failures.c.email == email)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else FailureCount(row.failures, row.last_failed_at)


def record_failure(conn: Connection, email: str, now: datetime) -> None:
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(login_failures).values(email=email, failures=1, last_failed_at=now)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[login_failures.c.email],
            set_={"failures": login_failures.c.failures + 1, "last_failed_at": now},
        )
    )


def clear_failures(conn: Connection, email: str) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.email == email))


def insert_session(
    conn: Connection, *, token_hash: str, user_id: str, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        insert(sessions).values(
            token_hash=token_hash,
            user_id=user_id,
            created_at=now,
            expires_at=expires_at,
            last_seen_at=now,
        )
    )
    conn.execute(update(users).where(users.c.id == user_id).values(last_login_at=now))


def delete_expired_sessions(conn: Connection, user_id: str, now: datetime) -> None:
    conn.execute(
        delete(sessions).where(sessions.c.user_id == user_id, sessions.c.expires_at <= now)
    )


def find_session(conn: Connection, token_hash: str, now: datetime) -> SessionUser | None:
    row = conn.execute(
        select(users, sessions.c.last_seen_at)
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now)
    ).first()
    return None if row is None else SessionUser(_user(row), row.last_seen_at)


def touch_session(conn: Connection, token_hash: str, now: datetime) -> None:
    conn.execute(
        update(sessions).where(sessions.c.token_hash == token_hash).values(last_seen_at=now)
    )


def delete_session(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))


def purge_stale(conn: Connection, now: datetime, failures_before: datetime) -> int:
    """Delete expired sessions, and failure counts untouched since ``failures_before``.

    Without this, guesses at random emails would grow ``login_failures`` forever.
    """
    removed = conn.execute(delete(sessions).where(sessions.c.expires_at < now)).rowcount
    removed += conn.execute(
        delete(login_failures).where(login_failures.c.last_failed_at < failures_before)
    ).rowcount
    return int(removed)
