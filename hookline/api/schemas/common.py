"""What every API model shares: strictness and the text and time types of domain.text.

The rules themselves live in ``hookline.domain.text`` (and are enforced again by the
services, so the dashboard and the CLI get them too); these types make the API refuse
early, name the field, and show the rule in the OpenAPI document.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from hookline.domain.text import Refusal, instant_refusal, text_refusal, unicode_refusal

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _refuse(refusal: Refusal | None) -> None:
    if refusal is not None:
        raise PydanticCustomError(refusal.code, refusal.reason)


def _safe_text(value: str) -> str:
    _refuse(text_refusal(value))
    return value


def _unicode_text(value: str) -> str:
    _refuse(unicode_refusal(value))
    return value


def _date_or_datetime(value: Any) -> Any:
    """A bare ``YYYY-MM-DD`` stays a date (pydantic would make it a naive midnight)."""
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value  # pydantic then names the field and the reason
    return value


def _aware_in_range(value: datetime | date) -> datetime | date:
    if isinstance(value, datetime):
        _refuse(instant_refusal(value))
    return value


SafeText = Annotated[
    str,
    AfterValidator(_safe_text),
    Field(description="No control, bidi-override or lone-surrogate characters."),
]
"""A name, email, id, topic, URL or token."""

UnicodeText = Annotated[str, AfterValidator(_unicode_text)]
"""Any well-formed Unicode (a password): only lone surrogates are refused."""

Moment = Annotated[
    datetime | date,
    BeforeValidator(_date_or_datetime),
    AfterValidator(_aware_in_range),
    Field(
        description="A date (midnight in the platform's time zone) or a date-time with a"
        " UTC offset; a date-time without one is refused. Years 1970 to 9998 in UTC."
    ),
]
"""A bound of a time window (``since``, ``until``)."""
