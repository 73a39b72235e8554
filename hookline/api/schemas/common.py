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

from hookline.catalog import TOPICS
from hookline.domain.models import MAX_NAME_LENGTH, MAX_PLATFORM_NAME_LENGTH
from hookline.domain.text import (
    UNSAFE_CHARACTERS,
    Refusal,
    instant_refusal,
    text_refusal,
    unicode_refusal,
)

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_START = re.compile(r"\d{4}-")
SAFE_PATTERN = f"^[^{UNSAFE_CHARACTERS}]*$"
# Safe, and not blank: names are stripped before their length is checked.
NAME_PATTERN = f"^[^{UNSAFE_CHARACTERS}]*[^{UNSAFE_CHARACTERS}\\s][^{UNSAFE_CHARACTERS}]*$"


def rule(**keywords: Any) -> Any:
    """A constraint the services enforce, shown in the OpenAPI document only.

    The services check it for every entry point (API, dashboard, CLI) and answer with
    their own codes (``name_too_long``, ``topics_empty``, ``out_of_range``) that clients
    branch on; pydantic enforcing it as well would answer the same request with its
    own codes instead. The document still tells a client (and a fuzzer) the rule.
    """
    return Field(json_schema_extra=keywords)


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


def _iso_text(value: Any) -> Any:
    """A time is ISO 8601 text, as the document says.

    Pydantic would also read a number, or a numeric string such as ``0.5``, as seconds
    since 1970: no client means that, and the schema does not allow it.
    """
    if isinstance(value, str) and _ISO_START.match(value):
        return value
    raise PydanticCustomError(
        "datetime_type", "must be ISO 8601 text: YYYY-MM-DD or a date-time with a UTC offset."
    )


def _json_integer(value: Any) -> Any:
    """Lax parsing would read ``true`` as 1 and ``"3"`` as 3; JSON Schema calls neither an
    integer. A float with no fraction (``3.0``) is one, and pydantic takes it as such."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "must be an integer.")
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
    Field(
        description="No control, bidi-override or lone-surrogate characters.",
        json_schema_extra={"pattern": SAFE_PATTERN},
    ),
]
"""A name, email, id, topic, URL or token."""


def _name_rule(max_length: int) -> Any:
    return Field(
        description=f"1 to {max_length} characters, not blank; no control, bidi-override"
        " or lone-surrogate characters.",
        json_schema_extra={"minLength": 1, "maxLength": max_length, "pattern": NAME_PATTERN},
    )


WebhookName = Annotated[str, AfterValidator(_safe_text), _name_rule(MAX_NAME_LENGTH)]
PlatformName = Annotated[str, AfterValidator(_safe_text), _name_rule(MAX_PLATFORM_NAME_LENGTH)]
"""Names are stripped, then checked for length (services.validation.clean_name)."""

TopicName = Annotated[str, AfterValidator(_safe_text), rule(enum=list(TOPICS))]
"""A topic of the catalog (``GET /v1/topics``)."""

UnicodeText = Annotated[str, AfterValidator(_unicode_text)]
"""Any well-formed Unicode (a password): only lone surrogates are refused."""

Instant = Annotated[datetime, BeforeValidator(_iso_text)]
"""A date-time from outside: text only (services check its offset and range)."""

WholeNumber = Annotated[int, BeforeValidator(_json_integer)]
"""An integer in a body, as JSON Schema counts them (``3`` or ``3.0``)."""

Moment = Annotated[
    datetime | date,
    BeforeValidator(_date_or_datetime),
    BeforeValidator(_iso_text),
    AfterValidator(_aware_in_range),
    Field(
        description="A date (midnight in the platform's time zone) or a date-time with a"
        " UTC offset; a date-time without one is refused. Years 1970 to 9998 in UTC."
    ),
]
"""A bound of a time window (``since``, ``until``)."""
