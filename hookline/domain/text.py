"""What text and values hookline accepts from outside, defined once for every entry point.

Both backends must store the same things: PostgreSQL's ``text`` cannot hold NUL, and
neither driver can encode a lone surrogate (``"\\ud800"`` is valid Python but not UTF-8).
Control and bidi-override characters in names and identifiers are refused as well: they
never belong there and make a dashboard or a log line lie about what it shows. Event
``data`` is JSON and may hold any JSON string (NUL included, stored escaped in the
rendered body), but not what JSON cannot carry: NaN, infinities, lone surrogates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# C0 controls, DEL, C1 controls; the bidi embeddings/overrides (U+202A-U+202E) and
# isolates (U+2066-U+2069) that reorder what a reader sees ("Trojan Source").
UNSAFE_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
"""The refused characters as a regex class body, the same in Python and JSON Schema."""
_UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # exclusive: years 1970 to 9998, in UTC
MAX_DATA_DEPTH = 64


@dataclass(frozen=True)
class Refusal:
    """Why a value is refused: a stable ``code`` and the end of a sentence naming the field."""

    code: str
    reason: str

    def message(self, field: str) -> str:
        return f"{field} {self.reason}"


LONE_SURROGATE = Refusal(
    "lone_surrogate", "contains a lone surrogate (\\ud800-\\udfff), which is not valid Unicode."
)
CONTROL_CHARACTER = Refusal(
    "control_character",
    "contains a control or bidi-override character (NUL, U+0001-U+001F, U+007F-U+009F,"
    " U+202A-U+202E, U+2066-U+2069).",
)
NOT_A_NUMBER = Refusal("not_finite", "is NaN or infinite (or too large), which JSON cannot carry.")
TOO_DEEP = Refusal("too_deep", f"nests deeper than {MAX_DATA_DEPTH} levels.")
OUT_OF_RANGE = Refusal(
    "out_of_range", "must be between 1970-01-01T00:00:00Z and 9998-12-31T23:59:59Z."
)
NAIVE_TIME = Refusal(
    "naive_datetime", "must be a date (YYYY-MM-DD) or a date-time with a UTC offset."
)


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def storable(value: str) -> str:
    """``value`` with what neither backend can store (NUL, lone surrogates) as U+FFFD.

    For text hookline keeps but did not choose and cannot refuse: what a receiver
    answered. One receiver answering a NUL byte must not fail the write that carries
    every other delivery's result with it (PostgreSQL refused the whole settle).
    """
    return _UNSTORABLE.sub("\ufffd", value)


def unicode_refusal(value: str) -> Refusal | None:
    """Well-formed Unicode only: what passwords and free JSON strings must at least be."""
    return LONE_SURROGATE if _SURROGATE.search(value) else None


def text_refusal(value: str) -> Refusal | None:
    """Safe for a name, email, id, topic, URL or token: printable Unicode only."""
    if _SURROGATE.search(value):
        return LONE_SURROGATE
    if _UNSAFE.search(value):
        return CONTROL_CHARACTER
    return None


def data_refusal(data: Any) -> tuple[str, Refusal] | None:
    """The first value of a JSON document JSON cannot carry, as (``$``-path, refusal).

    Every ingested event is walked, and almost every one is fine: a first walk builds no
    paths and looks into a string only when it is not ASCII (a third of a 1,000-event
    ingest's time went to building paths and searching strings); only a document it
    finds fault with is walked again to name the place.
    """
    return None if _carriable(data) else _first_refusal(data)


_SCALARS = (int, bool, type(None))


def _carriable(data: Any) -> bool:
    """True when ``_first_refusal`` would find nothing; False when it may (or a value is
    of a type this walk does not know: a subclass, say, left to the thorough walk)."""
    stack: list[tuple[Iterable[Any], int]] = [((data,), 0)]  # values, and their depth
    while stack:
        values, depth = stack.pop()
        for value in values:
            kind = type(value)
            if kind is str:
                if not value.isascii() and _SURROGATE.search(value):
                    return False
            elif kind is float:
                if not math.isfinite(value):
                    return False
            elif kind is dict:
                if depth >= MAX_DATA_DEPTH or any(
                    type(key) is not str or (not key.isascii() and _SURROGATE.search(key))
                    for key in value
                ):
                    return False
                stack.append((value.values(), depth + 1))
            elif kind is list:
                if depth >= MAX_DATA_DEPTH:
                    return False
                stack.append((value, depth + 1))
            elif kind not in _SCALARS:
                return False
    return True


def _first_refusal(data: Any) -> tuple[str, Refusal] | None:
    """``data_refusal``'s thorough walk, with an explicit stack: a deep document costs no
    recursion."""
    stack: list[tuple[str, Any, int]] = [("$", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return path, LONE_SURROGATE
        elif isinstance(value, float):
            if not math.isfinite(value):
                return path, NOT_A_NUMBER
        elif isinstance(value, dict | list):
            if depth >= MAX_DATA_DEPTH:
                return path, TOO_DEEP
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and _SURROGATE.search(key):
                    return path, LONE_SURROGATE
                step = f"[{key}]" if isinstance(key, int) else f".{key}"
                stack.append((path + step, item, depth + 1))
    return None


def instant_refusal(value: datetime) -> Refusal | None:
    """An aware time within years 1970 to 9998 once in UTC, or why not."""
    if value.tzinfo is None or value.utcoffset() is None:
        return NAIVE_TIME
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59 is past year 9999 in UTC
        return OUT_OF_RANGE
    return None if EARLIEST <= utc < LATEST else OUT_OF_RANGE


__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_DATA_DEPTH",
    "UNSAFE_CHARACTERS",
    "Refusal",
    "data_refusal",
    "instant_refusal",
    "text_refusal",
    "unicode_refusal",
]
