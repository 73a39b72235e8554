"""What goes on the wire: the MAAC body, its signatures and the request headers.

The body is rendered once, at ingest, and stored: MAAC's verification snippet tells
receivers to keep ``json.dumps``' default spacing and ``\\uXXXX`` escapes, so the exact
bytes matter, and every retry must send the same ones. Signatures are computed per
attempt because the Standard Webhooks one covers a send-time timestamp.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hookline import __version__
from hookline.domain.secrets import standard_webhooks_key

CONTENT_TYPE = "application/json; charset=utf-8"
USER_AGENT = f"hookline/{__version__}"


def render_body(topic: str, data: Mapping[str, Any], occurred_at: datetime, timezone: str) -> bytes:
    """``{"timestamp", "topic", "data"}`` in that order, as Python's default ``json.dumps``."""
    timestamp = occurred_at.astimezone(ZoneInfo(timezone)).isoformat(timespec="microseconds")
    document = {"timestamp": timestamp, "topic": topic, "data": data}
    # allow_nan=False: NaN and infinities are not JSON; callers refuse them first
    return json.dumps(document, allow_nan=False).encode("ascii")


def new_idempotency_key() -> str:
    """32 lowercase hex characters (a UUID4 without dashes), as MAAC sends."""
    return uuid.uuid4().hex


def new_idempotency_keys(count: int) -> list[str]:
    """``count`` UUID4 keys from one read of the system's randomness."""
    pool = os.urandom(16 * count)
    return [uuid.UUID(bytes=pool[i * 16 : i * 16 + 16], version=4).hex for i in range(count)]


def maac_signature(secret: str, body: bytes) -> str:
    """``CrescLab-Signature``: HMAC-SHA256 hex of the raw body, keyed by the secret's text."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def standard_signature(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature``: ``v1,<base64>`` per secret still valid, space-separated."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1,"
        + base64.b64encode(
            hmac.new(standard_webhooks_key(s), signed, hashlib.sha256).digest()
        ).decode("ascii")
        for s in secrets
    )


def delivery_headers(
    *,
    secrets: Sequence[str],
    idempotency_key: str,
    body: bytes,
    sent_at: datetime,
    test: bool = False,
) -> dict[str, str]:
    """Every header of one attempt; ``secrets`` lists the current secret first."""
    if not secrets:
        raise ValueError("a delivery needs at least one signing secret")
    timestamp = int(sent_at.timestamp())
    headers = {
        "Content-Type": CONTENT_TYPE,
        "CrescLab-Idempotency-Key": idempotency_key,
        "CrescLab-Signature": maac_signature(secrets[0], body),
        "webhook-id": idempotency_key,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secrets, idempotency_key, timestamp, body),
        "User-Agent": USER_AGENT,
    }
    if test:
        headers["CrescLab-Test"] = "true"
    return headers
