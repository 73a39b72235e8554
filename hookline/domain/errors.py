"""Errors a use case can end with.

Each class is one error: its ``code`` is the stable, machine-readable name clients
branch on, and its message is a sentence for people. The web layer maps classes to
HTTP statuses; nothing here knows HTTP. Messages never contain secrets or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


class HooklineError(Exception):
    code: ClassVar[str] = "error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


@dataclass(frozen=True)
class FieldError:
    """One offending field: ``field`` is a path such as ``topics[1]``; the message names it."""

    field: str
    code: str
    message: str


class InvalidInput(HooklineError):
    code = "validation_error"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(" ".join(e.message for e in errors))
        self.errors = errors

    @classmethod
    def single(cls, field: str, code: str, message: str) -> InvalidInput:
        return cls([FieldError(field, code, message)])


class NotFound(HooklineError):
    code = "not_found"


class PlatformNotFound(NotFound):
    code = "platform_not_found"


class WebhookNotFound(NotFound):
    code = "webhook_not_found"


class TokenNotFound(NotFound):
    code = "token_not_found"


class Unauthorized(HooklineError):
    code = "unauthorized"


class ZoneNotPurchased(HooklineError):
    code = "zone_not_purchased"


class ZoneExpired(HooklineError):
    code = "zone_expired"


class WebhookLimitReached(HooklineError):
    code = "webhook_limit_reached"


class IdempotencyKeyReused(HooklineError):
    code = "idempotency_key_reused"


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"


class EventNotFound(NotFound):
    code = "event_not_found"


class PayloadTooLarge(HooklineError):
    code = "payload_too_large"


class IngestDisabled(HooklineError):
    code = "ingest_disabled"


class DeliveryInFlight(HooklineError):
    code = "delivery_in_flight"
