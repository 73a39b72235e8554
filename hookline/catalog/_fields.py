"""Small builders for the topic schemas.

The schemas are written by hand so they read like MAAC's field tables, but the same few
shapes (nullable string, number, enum, LINE user id) recur in every topic. Building them
here keeps each schema one line per field and makes the nullable convention (required
but ``null`` allowed) impossible to get half right.

Every builder returns a fresh dict, so no two schemas share a mutable node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"

LINE_UID_PATTERN = r"^U[0-9a-f]{32}$"


def text(description: str, *, nullable: bool = False, **keywords: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": ["string", "null"] if nullable else "string",
        "description": description,
    }
    schema.update(keywords)
    return schema


def number(description: str, *, nullable: bool = False) -> dict[str, Any]:
    return {"type": ["number", "null"] if nullable else "number", "description": description}


def choice(description: str, values: Sequence[str], *, nullable: bool = False) -> dict[str, Any]:
    # ``enum`` is checked independently of ``type``, so null has to be listed in both.
    allowed: list[str | None] = [*values, None] if nullable else list(values)
    return {
        "type": ["string", "null"] if nullable else "string",
        "enum": allowed,
        "description": description,
    }


def strings(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}


def record(description: str, properties: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """A nested object whose listed fields are all required.

    Nested objects stay open to unknown keys for the same reason the top level does:
    MAAC and SurveyCake may add fields, and a receiver must not break when they do.
    """
    return {
        "type": "object",
        "description": description,
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": True,
    }


def line_uid() -> dict[str, Any]:
    return text(
        "LINE user id of the contact: 'U' followed by 32 lowercase hex characters.",
        pattern=LINE_UID_PATTERN,
    )


def customer_id(*, nullable: bool = True) -> dict[str, Any]:
    suffix = "; null when none is bound." if nullable else "."
    return text(
        "The brand's own customer id bound to this LINE friend in MAAC" + suffix,
        nullable=nullable,
    )


def topic_schema(
    name: str, description: str, properties: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """The ``data`` schema of one topic.

    ``required`` lists every documented field: MAAC always sends each key and uses
    ``null`` for "no value", so a missing key is a wire error while a null is not.
    """
    return {
        "$schema": DIALECT,
        "$id": f"urn:hookline:topic:{name}",
        "title": f"{name} data",
        "description": description,
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": True,
    }
