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


class SecretUnreadable(HooklineError):
    """A stored share secret does not open with this server's key (the key changed or was lost).

    Nothing the caller can fix: the operator must restore the key the secrets were
    sealed with, or re-seal them (``hookline admin rotate-key``).
    """

    code = "secret_unreadable"


class UserNotFound(NotFound):
    code = "user_not_found"


class EmailTaken(HooklineError):
    """Another user already has this email (emails are compared lower-cased)."""

    code = "email_taken"

    def __init__(self, email: str) -> None:
        super().__init__(f"email '{email}' is already used by another user.", field="email")
        self.field = "email"


class InvalidLogin(HooklineError):
    """Wrong email or password: the message never says which, so emails cannot be probed."""

    code = "invalid_login"

    def __init__(self) -> None:
        super().__init__("The email or password is not correct.")


class LoginThrottled(HooklineError):
    """Too many failed logins for this email: the next try must wait ``retry_after`` seconds."""

    code = "login_throttled"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed logins for this email: try again in {retry_after} s.",
            retry_after=retry_after,
        )
        self.retry_after = retry_after


class StorageUnavailable(HooklineError):
    """The database cannot be written (or reached) right now: full, read-only, gone.

    Nothing was changed; the same request may succeed after ``retry_after`` seconds.
    """

    code = "storage_unavailable"

    def __init__(self, cause: str, retry_after: int = 5) -> None:
        super().__init__(
            "The database cannot store this right now; nothing was changed."
            f" Try again in {retry_after} s.",
            retry_after=retry_after,
        )
        self.cause = cause
        self.retry_after = retry_after


class PortalLinkRefused(HooklineError):
    """A portal link that signs nobody in; the subclass says why, so the page can tell
    the person what to do (ask the product that embeds the dashboard for a new link)."""

    code = "portal_link_refused"


class PortalLinkUnknown(PortalLinkRefused):
    code = "portal_link_unknown"

    def __init__(self) -> None:
        super().__init__("This sign-in link is not known: ask for a new one.")


class PortalLinkUsed(PortalLinkRefused):
    code = "portal_link_used"

    def __init__(self) -> None:
        super().__init__("This sign-in link was already used (each works once): ask for a new one.")


class PortalLinkExpired(PortalLinkRefused):
    code = "portal_link_expired"

    def __init__(self) -> None:
        super().__init__("This sign-in link has expired: ask for a new one.")


class SurveyNotFound(NotFound):
    code = "survey_not_found"


class SurveyExists(HooklineError):
    """This platform already connected a survey with this svid (delete it first)."""

    code = "survey_exists"


class IntakeNotFound(NotFound):
    """No platform has this SurveyCake intake token (never made, or replaced)."""

    code = "intake_not_found"


class TooManyUnknownSurveys(HooklineError):
    """The intake holds too many notifications for surveys nobody connected."""

    code = "too_many_unknown_surveys"
