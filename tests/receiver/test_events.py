"""parse(): typed events for every topic, unknown topics, headers, and bad bodies."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from hookline.catalog import TOPICS
from hookline.devtools.fake import fake_data
from hookline.receiver import (
    EVENT_TYPES,
    Event,
    GenericEvent,
    InvalidPayload,
    InvalidSignature,
    MessageFirstOpenEvent,
    PnpProfileUpdatedEvent,
    PnpStatusUpdatedEvent,
    PrizePointsAddedEvent,
    ReceiptValidatedEvent,
    SurveyCakeSubmittedEvent,
    TimestampTooOld,
    parse,
    verify_and_parse,
)
from tests.receiver.support import KEY, NOW, OCCURRED, OTHER_SECRET, SECRET, body_of, signed

TAIPEI = timezone(timedelta(hours=8))


def test_the_library_knows_exactly_the_catalog_topics() -> None:
    assert set(EVENT_TYPES) == set(TOPICS)


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_sample_parses_into_its_typed_event(topic: str) -> None:
    body = body_of(topic)
    event = parse(body)
    assert type(event) is EVENT_TYPES[topic]
    assert event.topic == topic
    assert event.timestamp == OCCURRED
    assert event.timestamp.utcoffset() == timedelta(hours=8)
    # Dumping with wire names gives the body's data back, value for value.
    assert event.model_dump(mode="json", by_alias=True) == json.loads(body)


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_faked_events_parse_into_their_typed_event(topic: str) -> None:
    """The fake generator covers the branches the samples do not (nulls, other enums)."""
    rng = random.Random(topic)
    for _ in range(200):
        data = fake_data(topic, rng)
        event = parse(body_of(topic, data))
        assert type(event) is EVENT_TYPES[topic]
        assert event.model_dump(mode="json", by_alias=True)["data"] == data


def test_receipt_fields_are_typed() -> None:
    event = parse(body_of("receipt.receipt_validated"))
    assert isinstance(event, ReceiptValidatedEvent)
    data = event.data
    assert data.datetime == datetime(2026, 11, 27, 18, 32, 5, tzinfo=TAIPEI)
    assert data.upload_datetime.tzinfo is not None
    assert [i.amount for i in data.items] == [50.0, 65.0]
    assert isinstance(data.items[0].quantity, float)
    assert data.campaign_name == "2026 冬季發票登錄抽好禮"  # \uXXXX escapes decoded


def test_surveycake_fields_are_typed_with_snake_case_names() -> None:
    event = parse(body_of("form.surveycake_submitted"))
    assert isinstance(event, SurveyCakeSubmittedEvent)
    answer = event.data.answer
    assert answer.submit_time == "2026-11-28 15:43:20"
    assert answer.alias["maac_member_gender"] == ["male"]
    assert answer.meta == {"isolated": {"status": False, "type": None}}
    multi = answer.result[5]
    assert (multi.type, multi.sn, multi.other_answer) == ("CHOICEMULTI", 6, ["家樂福"])
    assert event.data.customer_id is None


def test_pnp_and_prize_and_first_open_fields_are_typed() -> None:
    status = parse(body_of("pnp.status_updated"))
    assert isinstance(status, PnpStatusUpdatedEvent)
    assert status.data.status == "pnp_delivered" and status.data.pnp_setting_id == 312
    assert status.data.line_push_error_category == "member_not_found"
    profile = parse(body_of("pnp.profile_updated"))
    assert isinstance(profile, PnpProfileUpdatedEvent) and profile.data.source == "pnp"
    points = parse(body_of("prize.points_added"))
    assert isinstance(points, PrizePointsAddedEvent)
    assert points.data.points_count == 200 and isinstance(points.data.points_count, int)
    assert points.data.points_expire_date == datetime(2027, 11, 30, 23, 59, 59, tzinfo=TAIPEI)
    opened = parse(body_of("message.first_open"))
    assert isinstance(opened, MessageFirstOpenEvent)
    assert (opened.data.message_type, opened.data.message_id) == ("openapi", 5521)


def test_match_statement_reads_naturally() -> None:
    def describe(event: Event) -> str:
        match event:
            case ReceiptValidatedEvent(data=data):
                return f"receipt {data.number}"
            case PrizePointsAddedEvent(data=data):
                return f"{data.points_count} points"
            case GenericEvent(topic=topic):
                return f"unknown {topic}"
            case _:
                return "other"

    assert describe(parse(body_of("receipt.receipt_validated"))) == "receipt AB12345678"
    assert describe(parse(body_of("prize.points_added"))) == "200 points"
    assert describe(parse(body_of("message.first_open"))) == "other"


def test_unknown_topic_parses_to_a_generic_event() -> None:
    body = json.dumps(
        {"timestamp": "2026-11-29T12:00:00.000000+08:00", "topic": "coupon.redeemed", "data": {}}
    )
    event = parse(body)
    assert isinstance(event, GenericEvent)
    assert (event.topic, event.data) == ("coupon.redeemed", {})
    nested = parse(body.replace("{}", '{"coupon": {"id": 7}, "line_uid": "U1"}'))
    assert isinstance(nested, GenericEvent)
    assert nested.data == {"coupon": {"id": 7}, "line_uid": "U1"}


def test_unknown_fields_are_kept() -> None:
    data: dict[str, Any] = {**TOPICS["message.first_open"].sample, "campaign": "winter"}
    event = parse(body_of("message.first_open", data))
    assert isinstance(event, MessageFirstOpenEvent)
    assert event.data.model_extra == {"campaign": "winter"}
    assert event.model_dump()["data"]["campaign"] == "winter"


def test_events_are_immutable() -> None:
    event = parse(body_of())
    with pytest.raises(ValueError, match="frozen"):
        event.topic = "other"  # type: ignore[misc]


# --- headers ---------------------------------------------------------------------------


def test_headers_give_the_idempotency_key_and_test_flag() -> None:
    body = body_of()
    event = parse(body, signed(body, test=True))
    assert event.idempotency_key == KEY and event.is_test is True
    plain = parse(body, signed(body))
    assert plain.is_test is False
    assert parse(body).idempotency_key is None


def test_idempotency_key_falls_back_to_webhook_id() -> None:
    assert parse(body_of(), {"webhook-id": "msg_1"}).idempotency_key == "msg_1"
    assert (
        parse(body_of(), {"CRESCLAB-IDEMPOTENCY-KEY": "k1", "webhook-id": "msg_1"}).idempotency_key
        == "k1"
    )


def test_header_fields_are_not_part_of_the_dump() -> None:
    body = body_of()
    event = parse(body, signed(body, test=True))
    assert set(event.model_dump()) == {"timestamp", "topic", "data"}


def test_a_body_cannot_claim_header_fields() -> None:
    document = json.loads(body_of())
    document.update(idempotency_key="forged", is_test=True)
    event = parse(json.dumps(document).encode())
    assert event.idempotency_key is None and event.is_test is False


# --- bad bodies ------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"\xff\xfe\x00", "{'a': 1}"])
def test_invalid_json(body: bytes | str) -> None:
    with pytest.raises(InvalidPayload, match="not valid JSON") as caught:
        parse(body)
    assert caught.value.errors == [] and caught.value.code == "invalid_payload"


@pytest.mark.parametrize("body", [b"[]", b"42", b'"text"', b"null"])
def test_body_must_be_an_object(body: bytes) -> None:
    with pytest.raises(InvalidPayload, match="JSON object"):
        parse(body)


def test_missing_envelope_keys() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse(b'{"data": {}}')
    message = str(caught.value)
    assert "timestamp" in message and "topic" in message


def test_wrong_data_names_the_field() -> None:
    data = {**TOPICS["receipt.receipt_validated"].sample}
    data["items"] = [{**data["items"][0], "amount": "a lot"}]
    with pytest.raises(InvalidPayload) as caught:
        parse(body_of("receipt.receipt_validated", data))
    assert "receipt.receipt_validated body does not match" in str(caught.value)
    assert "data.items.0.amount" in str(caught.value)
    assert caught.value.errors[0]["loc"][-1] == "amount"


@pytest.mark.parametrize(
    ("topic", "field", "value"),
    [
        ("pnp.status_updated", "status", "sms_lost"),
        ("pnp.profile_updated", "source", "email"),
        ("message.first_open", "message_type", "push"),
        ("prize.points_added", "points_expire_date", "next year"),
        ("receipt.receipt_validated", "datetime", "yesterday"),
        ("prize.points_added", "customer_id", None),
    ],
)
def test_values_outside_the_spec_are_refused(topic: str, field: str, value: object) -> None:
    data = {**TOPICS[topic].sample, field: value}
    with pytest.raises(InvalidPayload, match=rf"data\.{field}"):
        parse(body_of(topic, data))


def test_missing_nullable_key_is_refused_like_hookline_ingest_does() -> None:
    data = {k: v for k, v in TOPICS["message.first_open"].sample.items() if k != "customer_id"}
    with pytest.raises(InvalidPayload, match=r"data\.customer_id"):
        parse(body_of("message.first_open", data))


def test_many_errors_are_summarised() -> None:
    with pytest.raises(InvalidPayload, match=r"and \d+ more") as caught:
        parse(body_of("pnp.status_updated", {}))
    assert len(caught.value.errors) == len(TOPICS["pnp.status_updated"].sample)


# --- verify_and_parse ------------------------------------------------------------------


def test_verify_and_parse() -> None:
    body = body_of("prize.points_added")
    event = verify_and_parse(body, signed(body), SECRET, now=NOW)
    assert isinstance(event, PrizePointsAddedEvent) and event.idempotency_key == KEY


def test_verify_and_parse_checks_before_parsing() -> None:
    """An outsider's body never reaches the parser: a forgery is a signature error."""
    body = b"definitely not json"
    with pytest.raises(InvalidSignature):
        verify_and_parse(body, signed(body), OTHER_SECRET, now=NOW)
    with pytest.raises(InvalidPayload):
        verify_and_parse(body, signed(body), SECRET, now=NOW)


def test_verify_and_parse_passes_options_through() -> None:
    body = body_of()
    headers = signed(body, at=NOW - 1000)
    with pytest.raises(TimestampTooOld):
        verify_and_parse(body, headers, SECRET, now=NOW)
    verify_and_parse(body, headers, SECRET, now=NOW, tolerance=1000)
    verify_and_parse(body, headers, SECRET, now=NOW, schemes=["maac"])
