"""Opaque cursors for keyset paging: the last id of a page, base64 so nobody builds one.

Ids sort by creation time, so "after/before this id" is a stable page boundary; the id
prefix (``wh_``, ``dlv_``) is checked so a cursor of one list is refused by another.
"""

from __future__ import annotations

import base64

from hookline.domain.errors import InvalidInput
from hookline.domain.text import text_refusal


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, prefix: str) -> str:
    """The id inside ``cursor``; 422 ``invalid_cursor`` for anything this API did not make."""
    try:
        value = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
    except (ValueError, UnicodeError):
        value = ""
    if not value.startswith(prefix) or text_refusal(value) is not None:
        raise InvalidInput.single(
            "cursor", "invalid_cursor", "cursor is not one this API returned."
        )
    return value
