"""Typed models of the events hookline (and MAAC) deliver, and :func:`parse`.

They are written by hand from MAAC's field tables rather than generated from
``hookline.catalog`` so that receivers import nothing of the server; a test checks that
every catalog sample and every faked event parses into its model, so the two cannot
drift apart unnoticed.

Conventions, mirroring the wire:

* Every documented key is required; a nullable one is typed ``X | None`` (MAAC sends
  ``null`` rather than leaving a key out).
* Unknown keys are kept (``extra="allow"``): MAAC and SurveyCake may add fields, and a
  receiver must not start failing when they do.
* Enumerations are ``Literal`` types with exactly the values hookline validates at
  ingest, so a ``match`` over them can be checked for exhaustiveness.
* ISO-8601 times are ``datetime`` parsed with :meth:`datetime.fromisoformat`, which
  accepts exactly what hookline's ingest accepts. Times that MAAC documents as free
  text (the PNP ``*_delivered_at`` fields) stay ``str``.
* SurveyCake's camelCase keys get snake_case attributes (``submit_time``,
  ``other_answer``...); ``model_dump(by_alias=True)`` gives the wire names back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
)

from hookline.receiver._errors import InvalidPayload
from hookline.receiver._verify import HeadersLike, _normalize, idempotency_key, is_test


def _from_iso(value: object) -> object:
    # Pydantic's own parser is stricter than fromisoformat (e.g. about basic formats);
    # using the same function as ingest means whatever hookline sends, parses here.
    return datetime.fromisoformat(value) if isinstance(value, str) else value


IsoDatetime: TypeAlias = Annotated[datetime, BeforeValidator(_from_iso)]

PnpStatus: TypeAlias = Literal[
    "line_push_preparing",
    "line_push_delivered",
    "line_push_failed",
    "line_push_undeliverable",
    "pnp_preparing",
    "pnp_accepted",
    "pnp_delivered",
    "pnp_failed",
    "pnp_undeliverable",
    "sms_preparing",
    "sms_accepted",
    "sms_delivered",
    "sms_failed",
    "sms_undeliverable",
    "sms_blocked",
    "sms_temporary_error",
    "sms_callback_timeout",
]
LinePushErrorCategory: TypeAlias = Literal["member_not_found", "reach_monthly_limit", "others"]
SmsErrorCategory: TypeAlias = Literal[
    "target_reception_issue", "invalid_phone_number", "sensitive_words", "others"
]
ProfileSource: TypeAlias = Literal["pnp", "sms"]
MessageType: TypeAlias = Literal["broadcast", "openapi"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


# --- data of each topic ---------------------------------------------------------------


class ReceiptItem(_Model):
    """One line item of a receipt; amounts in TWD, as floats (``65.0``)."""

    description: str
    unit_price: float
    quantity: float
    amount: float


class ReceiptValidatedData(_Model):
    """``receipt.receipt_validated``: only the items that matched the campaign's rules."""

    line_uid: str
    customer_id: str | None
    campaign_name: str | None
    number: str
    datetime: IsoDatetime
    """Transaction time printed on the receipt."""
    upload_datetime: IsoDatetime
    random_number: str
    channel: str
    items: list[ReceiptItem]


class SurveyCakeQuestion(_Model):
    """The answer to one question of a SurveyCake form."""

    subject: str
    type: str
    """SurveyCake question type: ``TXTSHORT``, ``TXTLONG``, ``CHOICEONE``, ``CHOICEMULTI``..."""
    sn: int
    label: str
    alias: str
    """The alias marketing set on the question; empty when none."""
    answer: list[str]
    other_answer: list[str] = Field(alias="otherAnswer")
    answer_label: list[str] = Field(alias="answerLabel")
    answer_alias: list[str] = Field(alias="answerAlias")


class SurveyCakeAnswer(_Model):
    """The SurveyCake submission as SurveyCake reports it."""

    id: int
    svid: str
    title: str
    status: str
    submit_time: str = Field(alias="submitTime")
    """``YYYY-MM-DD HH:MM:SS`` in the survey's local time (no offset, so kept as text)."""
    mbunq: str | None
    mbrid: str | None
    meta: dict[str, Any]
    alias: dict[str, list[str]]
    """Answers by question alias, e.g. ``alias["maac_member_mobile"]``: stable keys."""
    result: list[SurveyCakeQuestion]


class SurveyCakeSubmittedData(_Model):
    """``form.surveycake_submitted``."""

    line_uid: str
    customer_id: str | None
    survey_name: str | None
    answer_hash: str
    answer: SurveyCakeAnswer


class PnpStatusUpdatedData(_Model):
    """``pnp.status_updated``: the status prefix names the channel (line_push/pnp/sms)."""

    pnp_setting_id: int
    pnp_setting_name: str
    pnp_message_id: int
    event_id: int
    customized_id: str | None
    phone_number: str
    """E.164 (``+886912345678``) or its SHA-256 hex when the send used a hashed number."""
    status: PnpStatus
    line_push_template_id: int | None
    line_push_status: str | None
    line_push_delivered_at: str | None
    line_push_error_category: LinePushErrorCategory | None
    pnp_status: str | None
    pnp_delivered_at: str | None
    sms_status: str | None
    sms_delivered_at: str | None
    sms_error_category: SmsErrorCategory | None


class PnpProfileUpdatedData(_Model):
    """``pnp.profile_updated``: a phone number got bound to a LINE friend."""

    pnp_setting_id: int
    pnp_setting_name: str
    phone_number: str
    source: ProfileSource
    line_uid: str
    customer_id: str | None


class PrizePointsAddedData(_Model):
    """``prize.points_added``: dedupe on ``points_id`` to never add points twice."""

    prize_name: str
    points_id: str
    points_category: str | None
    line_uid: str
    customer_id: str
    points_memo: str
    points_count: int | float
    """A JSON number: ``int`` when whole on the wire, else ``float``."""
    points_expire_date: IsoDatetime | None


class MessageFirstOpenData(_Model):
    """``message.first_open``: for ``openapi`` pushes ``message_id`` is the event_id."""

    message_type: MessageType
    message_id: int
    line_uid: str
    customer_id: str | None


# --- events ---------------------------------------------------------------------------


class BaseEvent(_Model):
    """What every delivery body has, plus what the headers said about it.

    ``idempotency_key`` and ``is_test`` come from the headers (when :func:`parse` got
    them), not the body; they are left out of ``model_dump()`` so a dump is the body.
    """

    timestamp: IsoDatetime
    """When the event happened, in the platform's UTC offset."""
    topic: str
    idempotency_key: str | None = Field(default=None, exclude=True)
    """Same on every retry of a delivery: store it and skip repeats."""
    is_test: bool = Field(default=False, exclude=True)
    """``True`` for a dashboard/API "Send test" (header ``CrescLab-Test: true``)."""


class ReceiptValidatedEvent(BaseEvent):
    topic: Literal["receipt.receipt_validated"]
    data: ReceiptValidatedData


class SurveyCakeSubmittedEvent(BaseEvent):
    topic: Literal["form.surveycake_submitted"]
    data: SurveyCakeSubmittedData


class PnpStatusUpdatedEvent(BaseEvent):
    topic: Literal["pnp.status_updated"]
    data: PnpStatusUpdatedData


class PnpProfileUpdatedEvent(BaseEvent):
    topic: Literal["pnp.profile_updated"]
    data: PnpProfileUpdatedData


class PrizePointsAddedEvent(BaseEvent):
    topic: Literal["prize.points_added"]
    data: PrizePointsAddedData


class MessageFirstOpenEvent(BaseEvent):
    topic: Literal["message.first_open"]
    data: MessageFirstOpenData


class GenericEvent(BaseEvent):
    """A topic this version of the library does not know: parsed, but untyped."""

    data: dict[str, Any]


EVENT_TYPES: Mapping[str, type[BaseEvent]] = {
    "receipt.receipt_validated": ReceiptValidatedEvent,
    "form.surveycake_submitted": SurveyCakeSubmittedEvent,
    "pnp.status_updated": PnpStatusUpdatedEvent,
    "pnp.profile_updated": PnpProfileUpdatedEvent,
    "prize.points_added": PrizePointsAddedEvent,
    "message.first_open": MessageFirstOpenEvent,
}
"""The typed event class of each known topic."""

_GENERIC = "*"


def _event_tag(value: object) -> str:
    topic = value.get("topic") if isinstance(value, dict) else getattr(value, "topic", None)
    return topic if isinstance(topic, str) and topic in EVENT_TYPES else _GENERIC


Event: TypeAlias = Annotated[
    Annotated[ReceiptValidatedEvent, Tag("receipt.receipt_validated")]
    | Annotated[SurveyCakeSubmittedEvent, Tag("form.surveycake_submitted")]
    | Annotated[PnpStatusUpdatedEvent, Tag("pnp.status_updated")]
    | Annotated[PnpProfileUpdatedEvent, Tag("pnp.profile_updated")]
    | Annotated[PrizePointsAddedEvent, Tag("prize.points_added")]
    | Annotated[MessageFirstOpenEvent, Tag("message.first_open")]
    | Annotated[GenericEvent, Tag(_GENERIC)],
    Discriminator(_event_tag),
]
"""Any event :func:`parse` returns; narrow it with ``isinstance`` or ``match``."""

_EVENT = TypeAdapter[Event](Event)


def parse(body: bytes | str, headers: HeadersLike | None = None) -> Event:
    """The delivery body as a typed event; ``GenericEvent`` for an unknown topic.

    With ``headers`` the event also carries ``idempotency_key`` and ``is_test``. This
    does not verify anything: use :func:`verify_and_parse` on requests from outside.
    Raises :class:`InvalidPayload` when the body is not JSON or not the topic's shape.
    """
    try:
        document = json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise InvalidPayload(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidPayload(
            "the body must be a JSON object with 'timestamp', 'topic' and 'data', got "
            f"{type(document).__name__}"
        )
    # Set (not merely defaulted) so a body can never claim these itself.
    found = _normalize(headers if headers is not None else {})
    document["idempotency_key"] = idempotency_key(found)
    document["is_test"] = is_test(found)
    try:
        return _EVENT.validate_python(document)
    except ValidationError as exc:
        raise InvalidPayload(_describe(document.get("topic"), exc), exc.errors()) from exc


def _describe(topic: object, error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        # The first location element is the union tag, which the topic already names.
        where = ".".join(str(p) for p in item["loc"][1:]) or "(body)"
        problems.append(f"{where}: {item['msg']}")
    more = error.error_count() - len(problems)
    suffix = f" (and {more} more)" if more > 0 else ""
    name = topic if isinstance(topic, str) else "the event"
    return f"{name} body does not match its schema: " + "; ".join(problems) + suffix
