"""Hostile values for the fuzz suites, and the check that nothing unportable was stored.

What every backend must refuse to keep is one thing: text PostgreSQL cannot hold (NUL)
or no driver can encode (a lone surrogate). SQLite would keep both, so the check reads
back every text column of every table after the requests.
"""

from __future__ import annotations

import json
import urllib.parse

from hypothesis import strategies as st
from sqlalchemy import String, Text, select

from hookline.store import Database
from hookline.store.tables import metadata

SPECIALS = [
    "\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9f", "\u202e", "\u202d", "\u2066",
    "\ud800", "\udfff", "\ufeff", "\uffff", "\U0010ffff", "'", '"', "<", "\\", "%00",
]  # fmt: skip

pieces = st.one_of(
    st.sampled_from(SPECIALS),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=4),
)
hostile_text = st.one_of(
    st.lists(pieces, max_size=6).map("".join),
    st.just("x" * 70_000),  # over every management body limit
    st.sampled_from(["", " ", "pf_", "wh_", "2026-11-29", "9999-12-31T23:59:59-23:59"]),
)


def as_json(value: str) -> str:
    """A JSON string literal; ``json.dumps`` escapes NUL and lone surrogates as ``\\uXXXX``."""
    return json.dumps(value)


json_values = st.one_of(
    hostile_text.map(as_json),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" * 5000, "1e-400"]),
    st.integers(0, 3000).map(lambda d: "[" * d + "]" * d),
    st.tuples(hostile_text, hostile_text).map(lambda kv: f"{{{as_json(kv[0])}: {as_json(kv[1])}}}"),
)
"""JSON texts (not Python values), so NaN, 1e400 and deep nesting reach the server as sent."""


def document(fields: dict[str, str]) -> bytes:
    """A JSON object from already-encoded member values."""
    return ("{" + ", ".join(f"{as_json(k)}: {v}" for k, v in fields.items()) + "}").encode("ascii")


def form_body(fields: dict[str, str]) -> bytes:
    """A urlencoded form whose values may hold lone surrogates (as raw UTF-8-ish bytes)."""
    return "&".join(
        f"{k}=" + urllib.parse.quote_from_bytes(v.encode("utf-8", "surrogatepass"))
        for k, v in fields.items()
    ).encode("ascii")


def unportable_text(db: Database) -> list[tuple[str, str, str]]:
    """Every stored string one of the backends could not store: (table, column, value)."""
    found = []
    with db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if not columns:
                continue
            for row in conn.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, str) and _unportable(value):
                        found.append((table.name, column.name, value))
    return found


def _unportable(value: str) -> bool:
    return "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)
