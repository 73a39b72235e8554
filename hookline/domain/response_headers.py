"""The receiver's answer headers as an attempt keeps them: bounded and sanitized.

An engineer debugging a receiver wants to see what came back (``Content-Type``, a
``Retry-After``, a proxy's ``Via``), but the row is kept for the whole retention period
and shown on a dashboard: cookies and credentials a misconfigured receiver echoes are
replaced by ``[removed]``, control characters and lone surrogates (aiohttp decodes
header bytes with ``surrogateescape``) become U+FFFD, and a receiver that answers with
thousands of headers costs at most ``MAX_HEADERS`` lines of ``MAX_VALUE`` characters.
Stored as a JSON list of ``[name, value]`` pairs: names repeat, and order matters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

MAX_HEADERS = 40
MAX_NAME = 64
MAX_VALUE = 256
REMOVED = "[removed]"
SENSITIVE = frozenset(
    {
        "set-cookie",
        "set-cookie2",
        "cookie",
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "x-auth-token",
    }
)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _clean(text: str, limit: int) -> str:
    cleaned = _UNSAFE.sub("\ufffd", text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def capture(headers: Iterable[tuple[str, str]]) -> str:
    """The stored form of an answer's headers: at most ``MAX_HEADERS`` sanitized pairs."""
    kept: list[list[str]] = []
    for name, value in headers:
        if len(kept) >= MAX_HEADERS:
            kept.append(["…", "more headers not kept"])
            break
        safe_name = _clean(name, MAX_NAME)
        shown = REMOVED if name.strip().lower() in SENSITIVE else _clean(value, MAX_VALUE)
        kept.append([safe_name, shown])
    return json.dumps(kept, ensure_ascii=False) if kept else ""


def parse(stored: str) -> list[tuple[str, str]]:
    """The pairs ``capture`` stored; rows from before headers were kept read as none."""
    if not stored:
        return []
    try:
        pairs = json.loads(stored)
    except ValueError:
        return []
    return [(str(p[0]), str(p[1])) for p in pairs if isinstance(p, list) and len(p) == 2]
