"""The receiver library: verify and parse the webhooks hookline (or MAAC) sends you.

::

    from hookline.receiver import verify_and_parse, WebhookError

    try:
        event = verify_and_parse(raw_body, request_headers, "whsec_...")
    except WebhookError as exc:
        return exc.http_status, exc.to_dict()

Importing this package loads only the standard library and Pydantic, never the
hookline server; the framework helpers live in ``hookline.receiver.fastapi``,
``.flask`` and ``.django`` and import their framework only when imported themselves;
``hookline.receiver.listen`` (aiohttp and Rich) is the ``hookline listen`` dev server.
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
from hookline.receiver.events import (
    EVENT_TYPES,
    BaseEvent,
    Event,
    GenericEvent,
    MessageFirstOpenData,
    MessageFirstOpenEvent,
    PnpProfileUpdatedData,
    PnpProfileUpdatedEvent,
    PnpStatusUpdatedData,
    PnpStatusUpdatedEvent,
    PrizePointsAddedData,
    PrizePointsAddedEvent,
    ReceiptItem,
    ReceiptValidatedData,
    ReceiptValidatedEvent,
    SurveyCakeAnswer,
    SurveyCakeQuestion,
    SurveyCakeSubmittedData,
    SurveyCakeSubmittedEvent,
    parse,
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
    "MalformedHeader",
    "MessageFirstOpenData",
    "MessageFirstOpenEvent",
    "MissingHeader",
    "Now",
    "PnpProfileUpdatedData",
    "PnpProfileUpdatedEvent",
    "PnpStatusUpdatedData",
    "PnpStatusUpdatedEvent",
    "PrizePointsAddedData",
    "PrizePointsAddedEvent",
    "ReceiptItem",
    "ReceiptValidatedData",
    "ReceiptValidatedEvent",
    "Scheme",
    "SecretArg",
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
