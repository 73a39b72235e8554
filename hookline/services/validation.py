"""Field rules shared by every entry point (API, CLI, dashboard)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from typing import ParamSpec, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hookline.catalog import TOPICS, ZONES
from hookline.domain.errors import FieldError, InvalidInput
from hookline.domain.models import MAX_NAME_LENGTH, MAX_WEBHOOK_LIMIT
from hookline.domain.text import Refusal, instant_refusal, text_refusal
from hookline.domain.urls import WebhookURLError, check_webhook_url
from hookline.services.context import Context

P = ParamSpec("P")
T = TypeVar("T")


class FieldErrors:
    """Runs several field checks and reports every failure at once, not just the first.

    A form then shows each message beside its field in one round trip.
    """

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def check(self, clean: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return clean(*args, **kwargs)
        except InvalidInput as exc:
            self.errors.extend(exc.errors)
            return None  # type: ignore[return-value]  # never used: raise_if_any() follows

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def refused(field: str, refusal: Refusal) -> InvalidInput:
    return InvalidInput.single(field, refusal.code, refusal.message(field))


def clean_text(value: str, field: str) -> str:
    """Refuse what a name, id, email, topic, URL or token must never hold (domain.text)."""
    refusal = text_refusal(value)
    if refusal is not None:
        raise refused(field, refusal)
    return value


def clean_path_params(params: Mapping[str, object]) -> None:
    """Ids in a URL path are text from outside too: one that breaks the rules names
    nothing, and PostgreSQL could not even compare it (NUL), so refuse it first."""
    errors = [
        FieldError(name, refusal.code, refusal.message(name))
        for name, value in params.items()
        if isinstance(value, str) and (refusal := text_refusal(value)) is not None
    ]
    if errors:
        raise InvalidInput(errors)


def clean_instant(value: datetime, field: str) -> datetime:
    """An aware time within the accepted range (domain.text), or a 422 naming ``field``."""
    refusal = instant_refusal(value)
    if refusal is not None:
        raise refused(field, refusal)
    return value


def clean_moment(value: datetime | date | None, timezone: str, field: str) -> datetime | None:
    """A bound of a time window: a date means its midnight in the platform's ``timezone``.

    A naive date-time is refused rather than guessed: UTC or the platform's zone would
    both be plausible, and a silent guess shifts the window by hours.
    """
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), tzinfo=ZoneInfo(timezone))
    return clean_instant(value, field)


def clean_name(name: str, *, field: str = "name", max_length: int = MAX_NAME_LENGTH) -> str:
    cleaned = clean_text(name, field).strip()
    if not cleaned:
        raise InvalidInput.single(field, "name_empty", f"{field} must not be empty.")
    if len(cleaned) > max_length:
        raise InvalidInput.single(
            field, "name_too_long", f"{field} must be at most {max_length} characters."
        )
    return cleaned


def clean_url(ctx: Context, url: str) -> str:
    clean_text(url, "url")
    try:
        return check_webhook_url(
            url, allow_http=ctx.allow_http, allowed_networks=ctx.allowed_networks
        )
    except WebhookURLError as exc:
        raise InvalidInput.single("url", exc.code, f"url: {exc.message}") from exc


def clean_topics(topics: Sequence[str]) -> tuple[str, ...]:
    if not topics:
        raise InvalidInput.single("topics", "topics_empty", "topics must name at least one topic.")
    for i, t in enumerate(topics):
        clean_text(t, f"topics[{i}]")
    errors = [
        FieldError(
            f"topics[{i}]",
            "unknown_topic",
            f"topics[{i}] '{t}' is not a topic; known topics: {', '.join(TOPICS)}.",
        )
        for i, t in enumerate(topics)
        if t not in TOPICS
    ]
    if errors:
        raise InvalidInput(errors)
    return tuple(dict.fromkeys(topics))


def clean_timezone(timezone: str) -> str:
    clean_text(timezone, "timezone")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput.single(
            "timezone",
            "unknown_timezone",
            f"timezone '{timezone}' is not an IANA time zone name such as 'Asia/Taipei'.",
        ) from exc
    return timezone


def clean_webhook_limit(limit: int) -> int:
    if not 0 <= limit <= MAX_WEBHOOK_LIMIT:
        raise InvalidInput.single(
            "webhook_limit",
            "out_of_range",
            f"webhook_limit must be between 0 and {MAX_WEBHOOK_LIMIT}.",
        )
    return limit


def clean_zone(zone: int) -> int:
    if zone not in ZONES:
        raise InvalidInput.single(
            "zone", "unknown_zone", f"zone must be one of {', '.join(map(str, ZONES))}."
        )
    return zone
