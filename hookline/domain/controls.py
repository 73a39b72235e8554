"""Per-webhook delivery controls: extra headers, timeout, retry policy, event filters.

The rules live here so the API, the dashboard and the CLI refuse the same things with
the same codes. Each ``*_refusals`` function answers ``(field, code, message)`` triples
(empty when the value is fine) instead of raising, so a form can show every problem
beside its field at once; ``services.controls`` turns them into ``InvalidInput``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from typing import Any

MAX_HEADERS = 10
MAX_HEADER_NAME = 64
MAX_HEADER_VALUE = 1024
MIN_TIMEOUT_SECONDS = 1
MAX_TIMEOUT_SECONDS = 30
MAX_FILTER_FIELDS = 10
MAX_FILTER_VALUES = 50
MAX_FILTER_TEXT = 256
MASK = "********"
"""What an API answer, a page or a shown request carries instead of a header's value."""

# RFC 9110 field-name: a token.
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# RFC 9110 field-value: visible ASCII, spaces and tabs inside; no CR, LF or NUL.
_FIELD_VALUE = re.compile(r"^[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?$")
RESERVED_PREFIXES = ("cresclab-", "webhook-", "content-")
"""Ours (signatures, idempotency, test flag) or the body's: a header here would lie."""
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
RESERVED_NAMES = HOP_BY_HOP | {"host", "user-agent"}
"""``User-Agent`` is ours too: receivers and their logs tell hookline's requests by it."""

Refusals = list[tuple[str, str, str]]
FilterValue = str | int | float | bool | None
Filter = dict[str, tuple[FilterValue, ...]]


class Ordering(enum.StrEnum):
    NONE = "none"
    FIFO = "fifo"


def header_refusals(headers: Mapping[str, Any], field: str = "headers") -> Refusals:
    """Why these extra headers may not be sent: names reserved, malformed or repeated."""
    found: Refusals = []
    if len(headers) > MAX_HEADERS:
        found.append(
            (
                field,
                "too_many",
                f"{field} may hold at most {MAX_HEADERS} headers, not {len(headers)}.",
            )
        )
        return found
    seen: set[str] = set()
    for name, value in headers.items():
        where = f"{field}.{name}" if _TOKEN.match(name) and len(name) <= MAX_HEADER_NAME else field
        lower = name.lower()
        if not _TOKEN.match(name) or len(name) > MAX_HEADER_NAME:
            found.append(
                (
                    where,
                    "invalid_header_name",
                    f"{field}: a header name must be 1 to {MAX_HEADER_NAME} letters, digits"
                    " or !#$%&'*+.^_`|~- (an HTTP token).",
                )
            )
        elif lower in RESERVED_NAMES or lower.startswith(RESERVED_PREFIXES):
            found.append(
                (
                    where,
                    "reserved_header",
                    f"{where}: hookline sets this header itself, or it belongs to the"
                    " connection (CrescLab-*, webhook-*, Content-*, Host, User-Agent and"
                    " hop-by-hop headers may not be set).",
                )
            )
        elif lower in seen:
            found.append(
                (where, "duplicate_header", f"{where} is given twice (names ignore case).")
            )
        seen.add(lower)
        if (
            not isinstance(value, str)
            or not _FIELD_VALUE.match(value)
            or len(value) > MAX_HEADER_VALUE
        ):
            found.append(
                (
                    where,
                    "invalid_header_value",
                    f"{where}: a header value must be 1 to {MAX_HEADER_VALUE} printable ASCII"
                    " characters, not starting or ending with a space.",
                )
            )
    return found


def timeout_refusals(value: Any, field: str = "timeout_seconds") -> Refusals:
    if isinstance(value, bool) or not isinstance(value, int):
        return [(field, "not_an_integer", f"{field} must be a whole number of seconds.")]
    if not MIN_TIMEOUT_SECONDS <= value <= MAX_TIMEOUT_SECONDS:
        return [
            (
                field,
                "out_of_range",
                f"{field} must be between {MIN_TIMEOUT_SECONDS} and {MAX_TIMEOUT_SECONDS}.",
            )
        ]
    return []


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, str):
        return len(value) <= MAX_FILTER_TEXT and not re.search(r"[\ud800-\udfff\x00]", value)
    return value is None or isinstance(value, bool | int)


def filter_shape_refusals(raw: Mapping[str, Any], field: str = "filter") -> tuple[Filter, Refusals]:
    """The filter as ``{path: (allowed values...)}``, or why it cannot be one.

    A path is ``data.<field>[.<field>...]``; a value is one JSON scalar or a list of them.
    """
    found: Refusals = []
    out: Filter = {}
    if len(raw) > MAX_FILTER_FIELDS:
        return {}, [(field, "too_many", f"{field} may test at most {MAX_FILTER_FIELDS} fields.")]
    for path, value in raw.items():
        parts = path.split(".")
        safe_path = len(path) <= 200 and all(re.fullmatch(r"[A-Za-z0-9_]+", p) for p in parts)
        where = f"{field}.{path}" if safe_path else field
        if not safe_path or parts[0] != "data" or len(parts) < 2:
            found.append(
                (
                    where,
                    "invalid_filter_field",
                    f"{field}: a field is written data.<name> (letters, digits, _ and dots),"
                    " e.g. data.status.",
                )
            )
            continue
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > MAX_FILTER_VALUES or not all(map(_is_scalar, values)):
            found.append(
                (
                    where,
                    "invalid_filter_value",
                    f"{where} must be a string, number, boolean or null, or a list of 1 to"
                    f" {MAX_FILTER_VALUES} of them (strings up to {MAX_FILTER_TEXT} characters).",
                )
            )
            continue
        out[path] = tuple(values)
    return out, found


def _schema_at(schema: Mapping[str, Any], parts: Sequence[str]) -> Mapping[str, Any] | None:
    node: Mapping[str, Any] | None = schema
    for part in parts:
        props = node.get("properties") if node is not None else None
        node = props.get(part) if isinstance(props, Mapping) else None
        if node is None:
            return None
    return node


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _fits(node: Mapping[str, Any], value: FilterValue) -> bool:
    enum_ = node.get("enum")
    if isinstance(enum_, list) and value not in enum_:
        return False
    kinds = node.get("type")
    if kinds is None:
        return True
    names = [kinds] if isinstance(kinds, str) else list(kinds)
    if isinstance(value, bool):
        return "boolean" in names
    return any(isinstance(value, _JSON_TYPES.get(n, ())) for n in names)


def filter_schema_refusals(
    flt: Filter, schemas: Mapping[str, Mapping[str, Any]], field: str = "filter"
) -> Refusals:
    """Every field must exist, with a value it can hold, in each subscribed topic's schema.

    ``schemas`` maps a topic to its ``data`` schema. A field a topic lacks would filter
    out every one of its events: that is a mistake, refused rather than kept silently.
    """
    found: Refusals = []
    for path, values in flt.items():
        where = f"{field}.{path}"
        for topic, schema in schemas.items():
            node = _schema_at(schema, path.split(".")[1:])
            if node is None:
                found.append(
                    (where, "unknown_filter_field", f"{where}: topic {topic} has no field {path}.")
                )
                break
            bad = [v for v in values if not _fits(node, v)]
            if bad:
                found.append(
                    (
                        where,
                        "filter_value_mismatch",
                        f"{where}: {bad[0]!r} is not a value {path} of topic {topic} can hold.",
                    )
                )
                break
    return found


_MISSING = object()


def _lookup(data: Any, parts: Sequence[str]) -> Any:
    for part in parts:
        if not isinstance(data, Mapping) or part not in data:
            return _MISSING
        data = data[part]
    return data


def _same(a: Any, b: FilterValue) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    return bool(a == b) and (a is None) == (b is None)


def passes(flt: Mapping[str, Sequence[FilterValue]] | None, data: Mapping[str, Any]) -> bool:
    """True when every listed field of the event's ``data`` equals one of its values."""
    if not flt:
        return True
    for path, allowed in flt.items():
        value = _lookup(data, path.split(".")[1:])
        if value is _MISSING or not any(_same(value, v) for v in allowed):
            return False
    return True
