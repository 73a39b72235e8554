"""The operator's forms: reading what a form sends, and showing what a use case refused.

A form sends text, so numbers, choices and dates are parsed here, and a typo becomes a
field error beside its input rather than a 422 JSON body. Use-case errors are
translated by ``code``: the operator's own catalog first, then the shared one.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from hookline.domain.errors import EmailTaken, FieldError, HooklineError, InvalidInput
from hookline.domain.retry import RetryPolicy
from hookline.services import users
from hookline.web.view import View

RETRY_POLICIES = tuple(policy.value for policy in RetryPolicy)
TIMEZONE_SUGGESTIONS = (
    "Asia/Taipei",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Jakarta",
    "UTC",
)
"""Offered in a datalist; any IANA name is accepted (the service checks it)."""

END_OF_DAY = time(23, 59, 59)
"""A bare date means "valid through that whole day", as a purchase date is read."""
MIN_YEAR, MAX_YEAR = 2000, 2999
"""Beyond these a date is a typo, and years near 9999 overflow when moved to UTC."""
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")

FIELD_PARAMS: dict[str, dict[str, int]] = {
    "invalid_password_length": {"min": users.MIN_PASSWORD_LENGTH, "max": users.MAX_PASSWORD_LENGTH},
    "date_out_of_range": {"min": MIN_YEAR, "max": MAX_YEAR},
}
"""The limits a message names come from the rule itself, so the two cannot drift apart."""

SETTINGS_FIELDS = frozenset({"name", "timezone", "webhook_limit", "retry_policy"})
USER_FIELDS = frozenset({"email", "password"})

Errors = dict[str, str]


# --- errors ----------------------------------------------------------------------------


def field_message(view: View, error: FieldError) -> str:
    """The operator catalog first (its own codes), then the shared one, then a generic text."""
    return view.field_text(error, "operator.field", **FIELD_PARAMS.get(error.code, {}))


def error_message(view: View, exc: HooklineError) -> str:
    return view.error_text(exc, "operator.error")


def form_errors(view: View, exc: HooklineError, fields: frozenset[str]) -> Errors:
    """Field -> translated message for one form; ``_form`` holds the rest.

    ``fields`` are the inputs this form has: an error about any other field (a rule
    the form cannot break, in theory) is still shown, above the form.
    """
    out: Errors = {}
    if isinstance(exc, InvalidInput):
        for error in exc.errors:
            name = error.field.split("[")[0]
            out.setdefault(name if name in fields else "_form", field_message(view, error))
        return out
    if isinstance(exc, EmailTaken) and "email" in fields:
        return {"email": view.t("operator.field.email_taken")}
    return {"_form": error_message(view, exc)}


def _invalid(field: str, code: str) -> InvalidInput:
    return InvalidInput.single(field, code, f"{field}: {code}")


def parse_limit(text: str) -> int:
    """A form sends text; a non-number is the person's typo, not a 422 JSON body."""
    try:
        return int(text.strip())
    except ValueError:
        raise _invalid("webhook_limit", "not_a_number") from None


def parse_retry_policy(text: str) -> RetryPolicy:
    try:
        return RetryPolicy(text)
    except ValueError:
        raise _invalid("retry_policy", "unknown_retry_policy") from None


def parse_valid_until(text: str, timezone: str) -> datetime:
    """``2026-12-31`` (a date input) or ``2026-12-31T18:00`` (datetime-local) in the
    platform's time zone: a bare date means the end of that day there, so a purchase
    "valid until 31 December" works all of 31 December for that platform's customer.
    """
    text = text.strip()
    zone = ZoneInfo(timezone)
    try:
        if _DATE.fullmatch(text):
            moment = datetime.combine(date.fromisoformat(text), END_OF_DAY, tzinfo=zone)
        elif _DATETIME.fullmatch(text):
            moment = datetime.fromisoformat(text).replace(tzinfo=zone)
        elif not text:
            raise _invalid("valid_until", "date_required")
        else:
            raise ValueError(text)
    except ValueError:
        raise _invalid("valid_until", "invalid_date") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise _invalid("valid_until", "date_out_of_range")
    return moment
