"""The receiver library: verify and parse the webhooks hookline (or MAAC) sends you.

::

    from hookline.receiver import verify_and_parse, WebhookError

    try:
        event = verify_and_parse(raw_body, request_headers, "whsec_...")
    except WebhookError as exc:
        return exc.http_status, exc.to_dict()

Importing this package loads only the standard library and Pydantic, never the
hookline server; the framework helpers live in ``hookline.receiver.fastapi``,
``.flask`` and ``.django`` and import their framework only when imported themselves.
The ``hookline listen`` dev server (aiohttp and Rich) lives in ``hookline.devtools``.
Everything public is named in ``__all__``; the modules starting with ``_`` may change.
"""

from __future__ import annotations

from collections.abc import Collection

from hookline.receiver._errors import (
    InvalidPayload,
    InvalidSecret,
    InvalidSignature,
    MalformedHeader,
    MissingHeader,
    TimestampOutOfTolerance,
    TimestampTooNew,
    TimestampTooOld,
    WebhookError,
    WebhookVerificationError,
)
from hookline.receiver._events import (
    EVENT_TYPES,
    BaseEvent,
    Event,
    GenericEvent,
    LinePushErrorCategory,
    MessageFirstOpenData,
    MessageFirstOpenEvent,
    MessageType,
    PnpProfileUpdatedData,
    PnpProfileUpdatedEvent,
    PnpStatus,
    PnpStatusUpdatedData,
    PnpStatusUpdatedEvent,
    PrizePointsAddedData,
    PrizePointsAddedEvent,
    ProfileSource,
    ReceiptItem,
    ReceiptValidatedData,
    ReceiptValidatedEvent,
    SmsErrorCategory,
    SurveyCakeAnswer,
    SurveyCakeQuestion,
    SurveyCakeSubmittedData,
    SurveyCakeSubmittedEvent,
    parse,
)
from hookline.receiver._verify import (
    DEFAULT_TOLERANCE,
    HeadersLike,
    Now,
    Scheme,
    SecretArg,
    Verified,
    idempotency_key,
    is_test,
    maac_signature,
    standard_signature,
    standard_webhooks_key,
    verify,
)


def verify_and_parse(
    body: bytes | bytearray | memoryview,
    headers: HeadersLike,
    secret: SecretArg,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: Now = None,
    schemes: Collection[Scheme] | None = None,
) -> Event:
    """:func:`verify`, then :func:`parse` with the headers: the usual one call.

    The body is only parsed once it is known to be genuine, so nothing an outsider
    sends is ever handed to the JSON parser or the models.
    """
    verify(body, headers, secret, tolerance=tolerance, now=now, schemes=schemes)
    return parse(bytes(body), headers)


__all__ = [
    "DEFAULT_TOLERANCE",
    "EVENT_TYPES",
    "BaseEvent",
    "Event",
    "GenericEvent",
    "HeadersLike",
    "InvalidPayload",
    "InvalidSecret",
    "InvalidSignature",
    "LinePushErrorCategory",
    "MalformedHeader",
    "MessageFirstOpenData",
    "MessageFirstOpenEvent",
    "MessageType",
    "MissingHeader",
    "Now",
    "PnpProfileUpdatedData",
    "PnpProfileUpdatedEvent",
    "PnpStatus",
    "PnpStatusUpdatedData",
    "PnpStatusUpdatedEvent",
    "PrizePointsAddedData",
    "PrizePointsAddedEvent",
    "ProfileSource",
    "ReceiptItem",
    "ReceiptValidatedData",
    "ReceiptValidatedEvent",
    "Scheme",
    "SecretArg",
    "SmsErrorCategory",
    "SurveyCakeAnswer",
    "SurveyCakeQuestion",
    "SurveyCakeSubmittedData",
    "SurveyCakeSubmittedEvent",
    "TimestampOutOfTolerance",
    "TimestampTooNew",
    "TimestampTooOld",
    "Verified",
    "WebhookError",
    "WebhookVerificationError",
    "idempotency_key",
    "is_test",
    "maac_signature",
    "parse",
    "standard_signature",
    "standard_webhooks_key",
    "verify",
    "verify_and_parse",
]
