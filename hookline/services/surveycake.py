"""SurveyCake intake, the marketer's and SurveyCake's side: surveys, the intake, links.

A survey's "Hash key" and "IV key" are sealed together with the server's box and
never shown again. The intake URL carries a per-platform token (stored as its hash
to look it up, and sealed to show it again on the dashboard). A notification is
committed before the intake answers, so one accepted is never lost; the job in
``services.surveycake_job`` fetches and publishes it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from hookline.domain import surveycake as rules
from hookline.domain.errors import (
    FieldError,
    IntakeNotFound,
    InvalidInput,
    SurveyExists,
    SurveyNotFound,
    TooManyUnknownSurveys,
)
from hookline.domain.ids import new_id
from hookline.domain.models import Actor
from hookline.domain.secrets import hash_token
from hookline.domain.urls import WebhookURLError, check_webhook_url
from hookline.services.context import Context
from hookline.services.platforms import lock_platform
from hookline.services.validation import FieldErrors, clean_name, clean_text
from hookline.store import platforms as platform_store
from hookline.store import surveycake as store

INTAKE_PREFIX = "/intake/surveycake/"
MAX_UNKNOWN = 1000
"""Notifications for unconnected surveys a platform holds; past it the intake says 429."""
MAX_SURVEY_NAME = 200


@dataclass(frozen=True)
class Survey:
    id: str
    svid: str
    name: str | None
    base_url: str
    last_error: str | None
    last_error_detail: str | None
    last_error_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: store.SurveyRow) -> Survey:
        return cls(
            id=row.id,
            svid=row.svid,
            name=row.name,
            base_url=row.base_url,
            last_error=row.last_error,
            last_error_detail=row.last_error_detail,
            last_error_at=row.last_error_at,
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class Received:
    notification_id: str | None
    state: str
    duplicate: bool


def _clean_id(value: str, field: str, pattern: str) -> str:
    clean_text(value, field)
    rule = rules.SVID_PATTERN if pattern == "svid" else rules.HASH_PATTERN
    if not rule.fullmatch(value):
        raise InvalidInput.single(
            field,
            f"invalid_{pattern}",
            f"{field} must be 1 to {64 if pattern == 'svid' else 128} letters, digits, '-' or '_'.",
        )
    return value


def clean_svid(svid: str, field: str = "svid") -> str:
    return _clean_id(svid, field, "svid")


def clean_hash(answer_hash: str, field: str = "hash") -> str:
    return _clean_id(answer_hash, field, "hash")


def _clean_key(value: str, field: str) -> str:
    clean_text(value, field)
    if not rules.KEY_PATTERN.fullmatch(value):
        raise InvalidInput.single(
            field,
            "invalid_key",
            f"{field} must be the 16 characters SurveyCake shows (letters, digits, symbols).",
        )
    return value


def _clean_base_url(ctx: Context, url: str) -> str:
    clean_text(url, "base_url")
    try:
        checked = check_webhook_url(
            url, allow_http=ctx.allow_http, allowed_networks=ctx.allowed_networks
        )
    except WebhookURLError as exc:
        raise InvalidInput.single("base_url", exc.code, f"base_url: {exc.message}") from exc
    if "?" in checked or "#" in checked:
        raise InvalidInput.single(
            "base_url", "url_invalid", "base_url must not carry a query or a fragment."
        )
    return checked.rstrip("/")


def _survey_or_404(conn: Connection, platform_id: str, svid: str) -> store.SurveyRow:
    row = store.get_survey(conn, platform_id, svid)
    if row is None:
        raise SurveyNotFound(f"No connected survey has the svid '{svid}'.")
    return row


def connect_survey(
    ctx: Context,
    platform_id: str,
    *,
    svid: str,
    hash_key: str,
    iv_key: str,
    name: str | None = None,
    base_url: str | None = None,
) -> Survey:
    """Connect a survey; notifications that came for it before are fetched now."""
    fields = FieldErrors()
    svid = fields.check(clean_svid, svid)
    if name is not None:
        name = fields.check(clean_name, name, max_length=MAX_SURVEY_NAME)
    fields.check(_clean_key, hash_key, "hash_key")
    fields.check(_clean_key, iv_key, "iv_key")
    url = fields.check(_clean_base_url, ctx, base_url or rules.DEFAULT_BASE_URL)
    fields.raise_if_any()
    now = ctx.clock()
    with ctx.db.write() as conn:
        lock_platform(ctx, conn, platform_id)
        if store.get_survey(conn, platform_id, svid) is not None:
            raise SurveyExists(
                f"A survey with the svid '{svid}' is already connected; delete it to change"
                " its keys.",
                field="svid",
            )
        store.insert_survey(
            conn,
            {
                "id": new_id("svy"),
                "platform_id": platform_id,
                "svid": svid,
                "name": name,
                "keys_ciphertext": ctx.box.encrypt(hash_key + iv_key),
                "base_url": url,
                "created_at": now,
                "updated_at": now,
            },
        )
        _ensure_intake(ctx, conn, platform_id, now)
        requeued = store.requeue_unknown(conn, platform_id, svid, now)
        survey = Survey.of(_survey_or_404(conn, platform_id, svid))
    if requeued:
        ctx.wake_workers()
    return survey


def survey_keys(ctx: Context, row: store.SurveyRow) -> tuple[str, str]:
    """(hash key, iv key), opened with the server's box (SecretUnreadable if it cannot)."""
    both = ctx.box.decrypt(row.keys_ciphertext)
    return both[: rules.KEY_LENGTH], both[rules.KEY_LENGTH :]


def list_surveys(ctx: Context, platform_id: str) -> list[Survey]:
    with ctx.db.read() as conn:
        return [Survey.of(r) for r in store.list_surveys(conn, platform_id)]


def get_survey(ctx: Context, platform_id: str, svid: str) -> Survey:
    clean_svid(svid)
    with ctx.db.read() as conn:
        return Survey.of(_survey_or_404(conn, platform_id, svid))


def delete_survey(ctx: Context, platform_id: str, svid: str) -> None:
    """Forget the survey and its keys; its notifications stay readable in the list."""
    clean_svid(svid)
    with ctx.db.write() as conn:
        store.delete_survey(conn, _survey_or_404(conn, platform_id, svid).id)


def survey_link(
    ctx: Context, platform_id: str, svid: str, line_uid: str, customer_id: str | None = None
) -> str:
    """The survey's link that prefills the LINE friend (and customer id) by alias."""
    clean_svid(svid)
    clean_text(line_uid, "line_uid")
    if not rules.LINE_UID_PATTERN.fullmatch(line_uid):
        raise InvalidInput.single(
            "line_uid", "invalid_line_uid", "line_uid must be 'U' and 32 lowercase hex digits."
        )
    if customer_id is not None:
        clean_name(customer_id, field="customer_id", max_length=255)
    return rules.prefill_link(
        get_survey(ctx, platform_id, svid).base_url, svid, line_uid, customer_id
    )


# -- the intake ------------------------------------------------------------------------


def _ensure_intake(ctx: Context, conn: Connection, platform_id: str, now: datetime) -> str:
    sealed = store.intake_ciphertext(conn, platform_id)
    if sealed is not None:
        return ctx.box.decrypt(sealed)
    token = secrets.token_urlsafe(32)
    store.save_intake(conn, platform_id, hash_token(token), ctx.box.encrypt(token), now)
    return token


def intake_path(ctx: Context, platform_id: str) -> str:
    """``/intake/surveycake/<token>``: made on first use, the same afterwards."""
    with ctx.db.read() as conn:
        sealed = store.intake_ciphertext(conn, platform_id)
    if sealed is not None:
        return INTAKE_PREFIX + ctx.box.decrypt(sealed)
    with ctx.db.write() as conn:
        lock_platform(ctx, conn, platform_id)
        return INTAKE_PREFIX + _ensure_intake(ctx, conn, platform_id, ctx.clock())


def rotate_intake(ctx: Context, platform_id: str, actor: Actor) -> str:
    """A new intake token: the old URL stops at once (paste the new one into SurveyCake)."""
    token = secrets.token_urlsafe(32)
    now = ctx.clock()
    with ctx.db.write() as conn:
        lock_platform(ctx, conn, platform_id)
        store.save_intake(conn, platform_id, hash_token(token), ctx.box.encrypt(token), now)
        platform_store.record_audit(
            conn,
            platform_id=platform_id,
            actor=actor,
            action="surveycake.intake.rotate",
            target_id=None,
            now=now,
        )
    return INTAKE_PREFIX + token


def receive(ctx: Context, token: str, svid: str, answer_hash: str) -> Received:
    """Record SurveyCake's notification durably; the same svid + hash again changes nothing.

    An unknown token is a 404 (nothing recorded). A survey not connected is recorded
    as ``unknown_survey`` (visible, and fetched once the survey is connected), up to
    ``MAX_UNKNOWN`` per platform.
    """
    fields = FieldErrors()
    svid = fields.check(clean_svid, svid)
    answer_hash = fields.check(clean_hash, answer_hash)
    fields.raise_if_any()
    now = ctx.clock()
    with ctx.db.write() as conn:
        platform_id = (
            None
            if clean_token(token) is None
            else store.platform_of_intake(conn, hash_token(token))
        )
        if platform_id is None:
            raise IntakeNotFound("This SurveyCake intake URL is not valid (any more).")
        known = store.get_survey(conn, platform_id, svid) is not None
        state = store.PENDING if known else store.UNKNOWN_SURVEY
        if not known and store.count_in_state(conn, platform_id, state) >= MAX_UNKNOWN:
            raise TooManyUnknownSurveys(
                f"{MAX_UNKNOWN} notifications already wait for surveys nobody connected;"
                f" connect survey '{svid}' first.",
                retry_after=60,
            )
        new = new_id("scn")
        stored = store.insert_notification(
            conn,
            {
                "id": new,
                "platform_id": platform_id,
                "svid": svid,
                "answer_hash": answer_hash,
                "state": state,
                "attempts": 0,
                "next_attempt_at": now if known else None,
                "error": None if known else "unknown_survey",
                "error_detail": None if known else f"No connected survey has the svid '{svid}'.",
                "received_at": now,
                "updated_at": now,
            },
        )
    if stored.id == new and known:
        ctx.wake_workers()
    return Received(stored.id, stored.state, duplicate=stored.id != new)


def clean_token(token: str) -> str | None:
    """An intake token is url-safe base64; anything else names no intake."""
    if not 1 <= len(token) <= 128 or not rules.HASH_PATTERN.fullmatch(token):
        return None
    return token


Notification = store.NotificationRow
STATES = store.STATES
MAX_LIST = 200


def list_notifications(
    ctx: Context,
    platform_id: str,
    *,
    states: list[str] | None = None,
    svid: str | None = None,
    limit: int = 50,
) -> list[Notification]:
    """The platform's notifications, newest first (failures, answers not linked, ...)."""
    fields = FieldErrors()
    for i, state in enumerate(states or ()):
        if state not in STATES:
            fields.errors.append(
                FieldError(
                    f"state[{i}]", "unknown_state", f"state must be one of {', '.join(STATES)}."
                )
            )
    if svid is not None:
        fields.check(clean_svid, svid)
    if not 1 <= limit <= MAX_LIST:
        fields.errors.append(
            FieldError("limit", "out_of_range", f"limit must be between 1 and {MAX_LIST}.")
        )
    fields.raise_if_any()
    with ctx.db.read() as conn:
        return store.list_notifications(
            conn, platform_id, states=states or (), svid=svid, limit=limit
        )
