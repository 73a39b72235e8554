"""The HTTP status of each domain error, the same on both faces."""

from __future__ import annotations

from hookline.domain import errors as domain

STATUS_BY_ERROR: dict[type[domain.HooklineError], int] = {
    domain.InvalidInput: 422,
    domain.NotFound: 404,
    domain.Unauthorized: 401,
    domain.ZoneNotPurchased: 403,
    domain.ZoneExpired: 403,
    domain.WebhookLimitReached: 409,
    domain.IdempotencyKeyReused: 422,
    domain.PayloadTooLarge: 413,
    domain.IngestDisabled: 503,
    domain.SecretUnreadable: 503,
    domain.DeliveryInFlight: 409,
    domain.EmailTaken: 409,
    domain.InvalidLogin: 401,
    domain.LoginThrottled: 429,
    domain.StorageUnavailable: 503,
    domain.PortalLinkRefused: 410,
    domain.SurveyExists: 409,
    domain.TooManyUnknownSurveys: 429,
}


def status_for(error: type[domain.HooklineError]) -> int:
    """The most specific class listed wins; an unlisted rule violation is a 400.

    Read by the OpenAPI document too, so the statuses it declares are the ones sent.
    """
    for cls in error.__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def status_of(exc: domain.HooklineError) -> int:
    return status_for(type(exc))
