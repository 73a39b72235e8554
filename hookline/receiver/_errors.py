"""The exceptions of the receiver library.

Each failure has its own class so a receiver can log, count or answer them apart
(a stale timestamp after a long outage is an operations problem; a wrong signature is a
wrong secret or an attacker). Every class carries a stable ``code`` for JSON answers and
the HTTP status the framework helpers answer with, so a hand-written view can answer
exactly like the helpers do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class WebhookError(Exception):
    """Base of everything a request can be refused for: bad signature or bad body."""

    code: ClassVar[str] = "webhook_error"
    http_status: ClassVar[int] = 400

    def to_dict(self) -> dict[str, str]:
        """The JSON error the framework helpers answer with: ``{"error", "message"}``."""
        return {"error": self.code, "message": str(self)}


class WebhookVerificationError(WebhookError):
    """The request does not prove it was signed with the share secret, or is stale.

    ``header`` names the header at fault, so the message and the logs point at it.
    """

    code: ClassVar[str] = "verification_failed"
    http_status: ClassVar[int] = 401

    def __init__(self, header: str, message: str) -> None:
        super().__init__(message)
        self.header = header


class MissingHeader(WebhookVerificationError):
    """A header the check needs is absent (or empty)."""

    code: ClassVar[str] = "missing_header"
    http_status: ClassVar[int] = 400


class MalformedHeader(WebhookVerificationError):
    """A header is present but cannot be read (not hex, not a number, no ``v1,``...)."""

    code: ClassVar[str] = "malformed_header"
    http_status: ClassVar[int] = 400


class InvalidSignature(WebhookVerificationError):
    """The signature does not match the body: wrong secret, changed body, or forgery."""

    code: ClassVar[str] = "invalid_signature"


class TimestampOutOfTolerance(WebhookVerificationError):
    """``webhook-timestamp`` is too far from the receiver's clock (replay protection)."""

    code: ClassVar[str] = "timestamp_out_of_tolerance"


class TimestampTooOld(TimestampOutOfTolerance):
    """Signed longer ago than the tolerance: a replay, or a badly late clock here."""

    code: ClassVar[str] = "timestamp_too_old"


class TimestampTooNew(TimestampOutOfTolerance):
    """Signed further in the future than the tolerance: a clock skew between the hosts."""

    code: ClassVar[str] = "timestamp_too_new"


class InvalidPayload(WebhookError, ValueError):
    """The body is not JSON, or does not have the shape its topic promises.

    ``errors`` holds Pydantic's error list when the shape was wrong (empty for bad JSON),
    so a receiver can log exactly which field was off.
    """

    code: ClassVar[str] = "invalid_payload"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, errors: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


class InvalidSecret(ValueError):
    """The configured secret cannot be used: a mistake in the receiver's setup.

    Deliberately not a :class:`WebhookError`: it is not the request's fault, so the
    framework helpers let it surface as a server error instead of refusing the sender.
    """
