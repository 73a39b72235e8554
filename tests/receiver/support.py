"""Signed requests for the receiver tests, made with hookline's own signing code.

Signing with ``hookline.domain.wire`` (the server's code) and checking with
``hookline.receiver`` (the library's own, separate code) is the point: each side is an
independent implementation of the same spec, so agreement means both read it alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from hookline.catalog import TOPICS
from hookline.domain import wire
from hookline.domain.secrets import generate_share_secret

SECRET = generate_share_secret()
OTHER_SECRET = generate_share_secret()
KEY = "3459ae7e67a940338ecb4e708e1fc429"
NOW = 1_795_925_350
"""A fixed "now" (2026-11-29) for signing and verifying, so no test depends on the clock."""

OCCURRED = datetime.fromtimestamp(NOW - 4.75, UTC)
"""When the sample events happened (with microseconds, as real events have)."""

TOPIC = "receipt.receipt_validated"


def body_of(topic: str = TOPIC, data: dict[str, Any] | None = None) -> bytes:
    occurred = OCCURRED
    return wire.render_body(
        topic, data if data is not None else dict(TOPICS[topic].sample), occurred, "Asia/Taipei"
    )


def signed(
    body: bytes,
    secrets: Sequence[str] = (SECRET,),
    *,
    at: int = NOW,
    key: str = KEY,
    test: bool = False,
) -> dict[str, str]:
    """Every header hookline sends with ``body``, signed at Unix time ``at``."""
    return wire.delivery_headers(
        secrets=list(secrets),
        idempotency_key=key,
        body=body,
        sent_at=datetime.fromtimestamp(at, UTC),
        test=test,
    )


def only(headers: dict[str, str], *names: str) -> dict[str, str]:
    """The headers whose lower-cased name is in ``names``."""
    wanted = {n.lower() for n in names}
    return {k: v for k, v in headers.items() if k.lower() in wanted}


def without(headers: dict[str, str], *names: str) -> dict[str, str]:
    unwanted = {n.lower() for n in names}
    return {k: v for k, v in headers.items() if k.lower() not in unwanted}


MAAC = ("CrescLab-Signature", "CrescLab-Idempotency-Key", "Content-Type")
STANDARD = ("webhook-id", "webhook-timestamp", "webhook-signature", "Content-Type")
