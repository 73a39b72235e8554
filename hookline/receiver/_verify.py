"""Checking that a webhook request was signed with the share secret, and is fresh.

hookline signs every delivery twice with one share secret (``whsec_<base64>``):

* MAAC's way, ``CrescLab-Signature``: hex HMAC-SHA256 of the raw body keyed by the
  secret's whole text. It is what receivers written for MAAC already check, but it
  signs no time, so a captured request can be replayed forever.
* Standard Webhooks' way, ``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature``:
  base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` keyed by the base64-decoded part of
  the secret. The timestamp is what lets a receiver refuse replays.

This module is self-contained on purpose (standard library only): receivers install
hookline to import it, and must not pull in the server, its database or HTTP stack.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol, TypeAlias

from hookline.receiver._errors import (
    InvalidSecret,
    InvalidSignature,
    MalformedHeader,
    MissingHeader,
    TimestampTooNew,
    TimestampTooOld,
)

Scheme: TypeAlias = Literal["maac", "standard"]
SCHEMES: tuple[Scheme, ...] = ("maac", "standard")

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
DEFAULT_TOLERANCE = 300
"""Seconds ``webhook-timestamp`` may differ from now, either way (Standard Webhooks' 5 min)."""

MAAC_SIGNATURE = "CrescLab-Signature"
IDEMPOTENCY_KEY = "CrescLab-Idempotency-Key"
TEST_FLAG = "CrescLab-Test"
WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"
_STANDARD_HEADERS = (WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE)

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class HeadersLike(Protocol):
    """Anything with ``items()`` of name/value pairs.

    A plain ``dict`` qualifies, and so do Starlette's, Werkzeug's and Django's header
    objects, none of which share a base class; only ``items()`` is read, so repeated
    headers are seen even where ``[]`` would return just one of them.
    """

    def items(self) -> Iterable[tuple[str, str]]: ...


SecretArg: TypeAlias = str | Sequence[str]
"""One share secret, or several during a rotation (any of them may have signed)."""

Now: TypeAlias = datetime | float | None


@dataclass(frozen=True)
class Verified:
    """What :func:`verify` checked: which schemes passed, and the ids it read on the way."""

    schemes: tuple[Scheme, ...]
    idempotency_key: str | None
    """``CrescLab-Idempotency-Key``, else ``webhook-id``: the key to deduplicate by."""
    timestamp: datetime | None
    """``webhook-timestamp`` as an aware UTC datetime; ``None`` when only MAAC's scheme ran."""


def verify(
    body: bytes | bytearray | memoryview,
    headers: HeadersLike,
    secret: SecretArg,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: Now = None,
    schemes: Collection[Scheme] | None = None,
) -> Verified:
    """Check the request's signatures against ``secret``; raise if anything is off.

    ``body`` must be the raw bytes as received: re-serialized JSON may differ by one
    space and fail. Header names are matched case-insensitively.

    By default every scheme whose headers are present must pass, and at least one must
    be present. hookline always sends both, so ``schemes={"maac", "standard"}`` (or just
    ``{"standard"}``) keeps an attacker from stripping the timestamped headers and
    replaying an old request under MAAC's timeless signature. Naming schemes also makes
    the others' headers be ignored, which is how to get through the window after a
    secret rotation with a grace period: hookline then signs ``webhook-signature`` with
    the old and new secrets but ``CrescLab-Signature`` with the new one only.

    ``now`` (a datetime or Unix seconds) replaces the clock, for tests.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(
            "verify() needs the raw request body as bytes (e.g. request.body, "
            f"await request.body(), request.get_data()), not {type(body).__name__}: a "
            "decoded or re-serialized body may differ from what was signed"
        )
    if tolerance < 0:
        raise ValueError("tolerance must be zero or more seconds")
    keys = _secrets(secret)
    found = _normalize(headers)
    wanted = _wanted_schemes(found, schemes)
    raw = bytes(body)
    timestamp = None
    if "maac" in wanted:
        _check_maac(found, raw, keys)
    if "standard" in wanted:
        timestamp = _check_standard(found, raw, keys, tolerance, _now_seconds(now))
    return Verified(
        schemes=tuple(s for s in SCHEMES if s in wanted),
        idempotency_key=idempotency_key(found),
        timestamp=timestamp,
    )


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key Standard Webhooks uses: the base64 part of ``whsec_...``.

    Missing ``=`` padding is tolerated, as the reference libraries do, so a secret
    copied without its trailing ``=`` still works.
    """
    encoded = secret.strip().removeprefix(SECRET_PREFIX).rstrip("=")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise InvalidSecret(
            "the secret is not a Standard Webhooks secret ('whsec_' followed by base64), so "
            "webhook-signature cannot be checked with it"
        ) from exc
    if not key:
        raise InvalidSecret("the secret's key part after 'whsec_' is empty")
    return key


def maac_signature(secret: str, body: bytes) -> str:
    """``CrescLab-Signature`` of ``body``: what a correct request carries."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """One ``v1,<base64>`` entry of ``webhook-signature``: what a correct request carries."""
    digest = _standard_digest(standard_webhooks_key(secret), msg_id, str(timestamp), body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def idempotency_key(headers: HeadersLike) -> str | None:
    """``CrescLab-Idempotency-Key``, else ``webhook-id`` (hookline sets both the same)."""
    found = _normalize(headers)
    return found.get(IDEMPOTENCY_KEY.lower()) or found.get(WEBHOOK_ID) or None


def is_test(headers: HeadersLike) -> bool:
    """Whether ``CrescLab-Test: true`` marks the request as a "Send test"."""
    found = _normalize(headers)
    return found.get(TEST_FLAG.lower(), "").lower() == "true"


class _Normalized(dict[str, str]):
    """Header values by lower-cased name, so lookups ignore the sender's spelling."""


def _normalize(headers: HeadersLike) -> _Normalized:
    """The headers by lower-cased name; already normalized ones are returned as they are."""
    if isinstance(headers, _Normalized):
        return headers
    found = _Normalized()
    for name, value in headers.items():
        key, text = name.lower(), value.strip()
        if key in found and found[key] != text:
            # Two different values for one name is ambiguous; which one a framework
            # shows is arbitrary, so refuse rather than guess.
            raise MalformedHeader(name, f"{name} appears more than once with different values")
        found[key] = text
    return found


def _wanted_schemes(found: _Normalized, schemes: Collection[Scheme] | None) -> set[Scheme]:
    if schemes is None:
        wanted: set[Scheme] = set()
        if MAAC_SIGNATURE.lower() in found:
            wanted.add("maac")
        if any(h in found for h in _STANDARD_HEADERS):
            wanted.add("standard")
        if not wanted:
            raise MissingHeader(
                f"{MAAC_SIGNATURE} or {WEBHOOK_SIGNATURE}",
                f"the request carries no signature: expected {MAAC_SIGNATURE} (MAAC) or "
                f"{', '.join(_STANDARD_HEADERS)} (Standard Webhooks)",
            )
        return wanted
    wanted = set(schemes)
    unknown = wanted - set(SCHEMES)
    if unknown or not wanted:
        raise ValueError(f"schemes must be a non-empty subset of {SCHEMES}, got {schemes!r}")
    return wanted


def _secrets(secret: SecretArg) -> tuple[str, ...]:
    keys = (secret,) if isinstance(secret, str) else tuple(secret)
    if not keys:
        raise InvalidSecret("no secret given")
    for key in keys:
        if not isinstance(key, str):
            raise InvalidSecret(f"a secret must be str (the whsec_... text), not {type(key)}")
        if not key.strip():
            raise InvalidSecret("a secret is empty")
    return keys


def _required(found: _Normalized, name: str, what: str) -> str:
    value = found.get(name.lower(), "")
    if not value:
        raise MissingHeader(name, f"missing header {name} ({what})")
    return value


def _check_maac(found: _Normalized, body: bytes, keys: Sequence[str]) -> None:
    given = _required(found, MAAC_SIGNATURE, "MAAC's HMAC-SHA256 hex signature of the body")
    if not _HEX_SHA256.fullmatch(given):
        raise MalformedHeader(
            MAAC_SIGNATURE, f"{MAAC_SIGNATURE} must be 64 hex characters (an HMAC-SHA256 digest)"
        )
    given = given.lower()
    if not any(hmac.compare_digest(maac_signature(k, body), given) for k in keys):
        raise InvalidSignature(
            MAAC_SIGNATURE,
            f"{MAAC_SIGNATURE} does not match the body: check the share secret, and that the "
            "body is checked as the raw bytes received",
        )


def _check_standard(
    found: _Normalized, body: bytes, keys: Sequence[str], tolerance: float, now: float
) -> datetime:
    msg_id = _required(found, WEBHOOK_ID, "the message id that is signed")
    stamp = _required(found, WEBHOOK_TIMESTAMP, "Unix seconds when it was signed")
    header = _required(found, WEBHOOK_SIGNATURE, "Standard Webhooks signatures")
    if not _UNIX_SECONDS.fullmatch(stamp):
        raise MalformedHeader(WEBHOOK_TIMESTAMP, f"{WEBHOOK_TIMESTAMP} must be Unix seconds")
    candidates = _v1_signatures(header)
    expected = [_standard_digest(standard_webhooks_key(k), msg_id, stamp, body) for k in keys]
    if not any(hmac.compare_digest(e, c) for e in expected for c in candidates):
        raise InvalidSignature(
            WEBHOOK_SIGNATURE,
            f"no signature in {WEBHOOK_SIGNATURE} matches: check the share secret, and that "
            "the body is checked as the raw bytes received",
        )
    # Checked after the signature, so a time error is only ever reported for a request
    # that really was signed with the secret: it then means replay or clock skew.
    signed_at = int(stamp)
    if signed_at < now - tolerance:
        raise TimestampTooOld(
            WEBHOOK_TIMESTAMP,
            f"{WEBHOOK_TIMESTAMP} is {now - signed_at:.0f} s in the past, more than the "
            f"{tolerance:g} s tolerance: a replayed request, or this host's clock is wrong",
        )
    if signed_at > now + tolerance:
        raise TimestampTooNew(
            WEBHOOK_TIMESTAMP,
            f"{WEBHOOK_TIMESTAMP} is {signed_at - now:.0f} s in the future, more than the "
            f"{tolerance:g} s tolerance: the sender's and this host's clocks disagree",
        )
    return datetime.fromtimestamp(signed_at, UTC)


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded ``v1`` entries; other versions are skipped, as the spec says."""
    signatures: list[bytes] = []
    for entry in header.split():
        version, sep, value = entry.partition(",")
        if not sep:
            raise MalformedHeader(
                WEBHOOK_SIGNATURE,
                f"{WEBHOOK_SIGNATURE} entries must look like 'v1,<base64>', got {entry[:20]!r}",
            )
        if version != "v1":
            continue
        try:
            signatures.append(base64.b64decode(value, validate=True))
        except binascii.Error:
            continue
    if not signatures:
        raise MalformedHeader(
            WEBHOOK_SIGNATURE, f"{WEBHOOK_SIGNATURE} holds no readable 'v1,<base64>' signature"
        )
    return signatures


def _standard_digest(key: bytes, msg_id: str, stamp: str, body: bytes) -> bytes:
    return hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()


def _now_seconds(now: Now) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (a naive datetime has no instant)")
        return now.timestamp()
    return float(now)
