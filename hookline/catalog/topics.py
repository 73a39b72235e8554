"""The topics hookline delivers, and the check that a ``data`` object fits its topic.

The catalog is the single place that knows MAAC's event vocabulary: zones decide what a
platform may subscribe to, schemas decide what a delivery may carry, and samples are
what "Send test" sends. Keeping them together means a topic cannot exist without all
three.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from hookline.catalog import samples, schemas
from hookline.catalog._fields import topic_schema

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Topic:
    """One MAAC event type.

    ``schema`` and ``sample`` are plain dicts so they serialize as they are; treat them
    as read-only and copy before changing anything.
    """

    name: str
    zone: int
    schema: Mapping[str, Any]
    sample: Mapping[str, Any]
    description: Mapping[str, str]

    def describe(self, language: str) -> str:
        """A one-line description; English when ``language`` has no translation.

        Language tags are matched case-insensitively because browsers and users spell
        them either way ("zh-TW", "zh-tw").
        """
        if language in self.description:
            return self.description[language]
        wanted = language.lower()
        for tag, text in self.description.items():
            if tag.lower() == wanted:
                return text
        return self.description[DEFAULT_LANGUAGE]


def _topic(
    name: str,
    zone: int,
    properties: Callable[[], schemas.Properties],
    sample: Mapping[str, Any],
    en: str,
    zh_tw: str,
) -> Topic:
    return Topic(
        name=name,
        zone=zone,
        schema=topic_schema(name, en, properties()),
        sample=sample,
        description=MappingProxyType({"en": en, "zh-TW": zh_tw}),
    )


_ALL = (
    _topic(
        "receipt.receipt_validated",
        1,
        schemas.receipt_validated,
        samples.RECEIPT_VALIDATED,
        "A receipt uploaded by a LINE friend passed validation in a receipt campaign.",
        "LINE 好友上傳的發票通過發票登錄活動的驗證。",
    ),
    _topic(
        "form.surveycake_submitted",
        1,
        schemas.surveycake_submitted,
        samples.SURVEYCAKE_SUBMITTED,
        "A LINE friend submitted a SurveyCake form linked to MAAC.",
        "LINE 好友提交了與 MAAC 串接的 SurveyCake 表單。",
    ),
    _topic(
        "pnp.status_updated",
        1,
        schemas.pnp_status_updated,
        samples.PNP_STATUS_UPDATED,
        "The delivery status of a LINE notification message (PNP / SMS+) changed.",
        "LINE 通知型訊息 (PNP/SMS+) 的發送狀態已更新。",
    ),
    _topic(
        "pnp.profile_updated",
        1,
        schemas.pnp_profile_updated,
        samples.PNP_PROFILE_UPDATED,
        "A phone number was bound to a LINE friend through a PNP or SMS flow.",
        "手機號碼已透過 LINE 通知型訊息 (PNP) 或簡訊流程綁定至 LINE 好友。",
    ),
    _topic(
        "prize.points_added",
        1,
        schemas.prize_points_added,
        samples.PRIZE_POINTS_ADDED,
        "Reward points were added to a LINE friend.",
        "已為 LINE 好友新增點數獎勵。",
    ),
    _topic(
        "message.first_open",
        2,
        schemas.message_first_open,
        samples.MESSAGE_FIRST_OPEN,
        "A LINE friend opened a message for the first time.",
        "LINE 好友首次開啟了訊息。",
    ),
)

TOPICS: Mapping[str, Topic] = MappingProxyType({t.name: t for t in _ALL})


def get_topic(name: str) -> Topic | None:
    return TOPICS.get(name)


def topics_in_zone(zone: int) -> list[Topic]:
    return [t for t in TOPICS.values() if t.zone == zone]


# jsonschema's own "date-time" check needs an optional package and silently passes
# everything without it; it also demands RFC 3339, while MAAC only promises ISO-8601.
# A checker of our own behaves the same on every install and accepts what MAAC says.
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_iso_datetime(instance: object) -> bool:
    if isinstance(instance, str):
        datetime.fromisoformat(instance)
    return True


_validators: dict[str, tuple[Mapping[str, Any], Draft202012Validator]] = {}


def _validator(topic: Topic) -> Draft202012Validator:
    # Keyed by name but checked by identity, so a hand-made Topic that reuses a catalog
    # name (tests do this) never gets the catalog's validator.
    cached = _validators.get(topic.name)
    if cached is not None and cached[0] is topic.schema:
        return cached[1]
    validator = Draft202012Validator(topic.schema, format_checker=_FORMATS)
    _validators[topic.name] = (topic.schema, validator)
    return validator


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _json_path(parts: Iterable[str | int]) -> str:
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            path += f".{part}"
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            path += f"['{escaped}']"
    return path


def _location(error: ValidationError) -> list[str | int]:
    """Where the error is, pointing at the missing key for ``required``.

    jsonschema reports a missing key at the object that lacks it; naming the key itself
    tells the reader which field to add, and matches where a type error would point.
    """
    parts: list[str | int] = list(error.absolute_path)
    required, instance = error.validator_value, error.instance
    if error.validator == "required" and isinstance(required, list) and isinstance(instance, dict):
        for key in required:
            if key not in instance and error.message == f"{key!r} is a required property":
                parts.append(key)
                break
    return parts


def _sort_key(item: tuple[list[str | int], str]) -> tuple[tuple[tuple[int, int, str], ...], str]:
    # Indexes sort as numbers so "[2]" comes before "[10]".
    parts, message = item
    return (
        tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts),
        message,
    )


def _fast_check(topic: Topic) -> Callable[[object], object]:
    """The schema compiled to Python by fastjsonschema: about 10x jsonschema's speed.

    Ingest checks every event, and jsonschema's interpreter was half of ingest's CPU.
    The compiled check only says valid or not; jsonschema stays the authority for the
    list of errors. Our schemas use only keywords that draft 7 reads the same way as
    2020-12 (type, enum, properties, required, items, pattern, format), so the
    ``$schema`` line is dropped for the compiler; a test checks both agree.
    """
    cached = _fast.get(topic.name)
    if cached is not None and cached[0] is topic.schema:
        return cached[1]
    schema = {k: v for k, v in topic.schema.items() if k not in ("$schema", "$id")}
    check = fastjsonschema.compile(schema, formats={"date-time": _is_datetime_text})
    _fast[topic.name] = (topic.schema, check)
    return check


_fast: dict[str, tuple[Mapping[str, Any], Callable[[object], object]]] = {}


def _is_datetime_text(value: object) -> bool:
    try:
        return _is_iso_datetime(value)
    except ValueError:
        return False


def is_valid_data(topic: Topic, data: object) -> bool:
    """Whether ``data`` satisfies the topic's schema (the fast path of ingest)."""
    try:
        _fast_check(topic)(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def validate_data(topic: Topic, data: object) -> list[tuple[str, str]]:
    """Every way ``data`` breaks the topic's schema, as ``(json_path, message)`` pairs.

    All errors are returned, not just the first, so a sender can fix a payload in one
    round; the order is stable so the result can be compared and shown as is.
    """
    if is_valid_data(topic, data):
        return []
    found = [(_location(e), e.message) for e in _validator(topic).iter_errors(data)]
    return [(_json_path(parts), message) for parts, message in sorted(found, key=_sort_key)]
