"""verify(): the reference vector, every failure path, and round-trips with hookline's signer."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers as StarletteHeaders
from werkzeug.datastructures import Headers as WerkzeugHeaders

from hookline.domain import wire
from hookline.receiver import (
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
    maac_signature,
    standard_signature,
    standard_webhooks_key,
    verify,
)
from tests.receiver.support import (
    KEY,
    MAAC,
    NOW,
    OTHER_SECRET,
    SECRET,
    STANDARD,
    body_of,
    only,
    signed,
    without,
)

# The test vector published with the Standard Webhooks reference libraries.
REF_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REF_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
REF_TIMESTAMP = 1614265330
REF_BODY = b'{"test": 2432232314}'
REF_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
REF_HEADERS = {
    "webhook-id": REF_ID,
    "webhook-timestamp": str(REF_TIMESTAMP),
    "webhook-signature": REF_SIGNATURE,
}

BODY = body_of()


# --- the reference vector, both ways --------------------------------------------------


def test_hookline_signer_produces_the_reference_signature() -> None:
    assert wire.standard_signature([REF_SECRET], REF_ID, REF_TIMESTAMP, REF_BODY) == REF_SIGNATURE


def test_receiver_accepts_the_reference_signature() -> None:
    result = verify(REF_BODY, REF_HEADERS, REF_SECRET, now=REF_TIMESTAMP)
    assert result.schemes == ("standard",)
    assert result.idempotency_key == REF_ID
    assert result.timestamp == datetime.fromtimestamp(REF_TIMESTAMP, UTC)


def test_receiver_signer_produces_the_reference_signature() -> None:
    assert standard_signature(REF_SECRET, REF_ID, REF_TIMESTAMP, REF_BODY) == REF_SIGNATURE


def test_reference_vector_fails_once_it_is_stale() -> None:
    with pytest.raises(TimestampTooOld):
        verify(REF_BODY, REF_HEADERS, REF_SECRET, now=REF_TIMESTAMP + 301)


# --- what passes -----------------------------------------------------------------------


def test_a_hookline_delivery_verifies_with_both_schemes() -> None:
    result = verify(BODY, signed(BODY), SECRET, now=NOW)
    assert result.schemes == ("maac", "standard")
    assert result.idempotency_key == KEY
    assert result.timestamp == datetime.fromtimestamp(NOW, UTC)


def test_maac_only_headers_verify_and_need_no_timestamp() -> None:
    headers = only(signed(BODY), *MAAC)
    result = verify(BODY, headers, SECRET, now=NOW + 10**6)
    assert result.schemes == ("maac",) and result.timestamp is None
    assert result.idempotency_key == KEY


def test_standard_only_headers_verify() -> None:
    result = verify(BODY, only(signed(BODY), *STANDARD), SECRET, now=NOW)
    assert result.schemes == ("standard",) and result.idempotency_key == KEY


def test_maac_scheme_uses_the_whole_secret_text_as_key() -> None:
    # MAAC's own secrets are not whsec_ base64 at all: any text must work.
    secret = "a MAAC share secret, any text at all: 分享密鑰"
    sig = hmac.new(secret.encode("utf-8"), BODY, hashlib.sha256).hexdigest()
    assert maac_signature(secret, BODY) == sig
    assert verify(BODY, {"CrescLab-Signature": sig}, secret).schemes == ("maac",)


@pytest.mark.parametrize("transform", [str.lower, str.upper, str.title])
def test_header_names_are_case_insensitive(transform: Callable[[str], str]) -> None:
    headers = {transform(k): v for k, v in signed(BODY).items()}
    assert verify(BODY, headers, SECRET, now=NOW).schemes == ("maac", "standard")


def test_framework_header_objects_are_accepted() -> None:
    headers = signed(BODY)
    werkzeug = WerkzeugHeaders(list(headers.items()))
    starlette = StarletteHeaders(headers=headers)
    for source in (werkzeug, starlette, MappingProxyType(headers)):
        assert verify(BODY, source, SECRET, now=NOW).schemes == ("maac", "standard")


def test_repeated_identical_headers_are_fine() -> None:
    headers = WerkzeugHeaders(list(signed(BODY).items()))
    headers.add("webhook-id", KEY)
    verify(BODY, headers, SECRET, now=NOW)


def test_uppercase_hex_and_surrounding_spaces_are_accepted() -> None:
    headers = signed(BODY)
    headers["CrescLab-Signature"] = " " + headers["CrescLab-Signature"].upper() + " "
    verify(BODY, headers, SECRET, now=NOW)


def test_body_may_be_bytearray_or_memoryview() -> None:
    headers = signed(BODY)
    verify(bytearray(BODY), headers, SECRET, now=NOW)
    verify(memoryview(BODY), headers, SECRET, now=NOW)


def test_any_one_of_several_signatures_passes() -> None:
    """During a rotation grace period hookline sends one ``v1,`` per valid secret."""
    headers = signed(BODY, [OTHER_SECRET, SECRET])
    assert len(headers["webhook-signature"].split()) == 2
    verify(BODY, only(headers, *STANDARD), SECRET, now=NOW)
    verify(BODY, only(headers, *STANDARD), OTHER_SECRET, now=NOW)


def test_unknown_signature_versions_are_skipped() -> None:
    headers = signed(BODY)
    headers["webhook-signature"] = "v1a,c29tZXRoaW5n v2,abc " + headers["webhook-signature"]
    verify(BODY, headers, SECRET, now=NOW)


def test_several_receiver_secrets_any_one_may_match() -> None:
    headers = signed(BODY, [OTHER_SECRET])
    verify(BODY, headers, [SECRET, OTHER_SECRET], now=NOW)
    verify(BODY, headers, (OTHER_SECRET,), now=NOW)


def test_rotation_window_old_secret_passes_when_only_standard_is_required() -> None:
    # hookline after a rotation with grace: MAAC header signed by the new secret only.
    new, old = OTHER_SECRET, SECRET
    headers = signed(BODY, [new, old])
    with pytest.raises(InvalidSignature) as caught:
        verify(BODY, headers, old, now=NOW)
    assert caught.value.header == "CrescLab-Signature"
    assert verify(BODY, headers, old, now=NOW, schemes={"standard"}).schemes == ("standard",)


def test_unpadded_secret_is_accepted() -> None:
    assert SECRET.endswith("=")
    verify(BODY, only(signed(BODY), *STANDARD), SECRET.rstrip("="), now=NOW)
    assert standard_webhooks_key(SECRET.rstrip("=")) == standard_webhooks_key(SECRET)


def test_secret_without_prefix_is_accepted_for_standard() -> None:
    bare = SECRET.removeprefix("whsec_")
    verify(BODY, only(signed(BODY), *STANDARD), bare, now=NOW)


@pytest.mark.parametrize(
    "now",
    [
        NOW,
        float(NOW),
        datetime.fromtimestamp(NOW, UTC),
        datetime.fromtimestamp(NOW, timezone(timedelta(hours=8))),
    ],
)
def test_now_may_be_seconds_or_an_aware_datetime(now: float | datetime) -> None:
    verify(BODY, signed(BODY), SECRET, now=now)


def test_default_now_is_the_real_clock() -> None:
    at = int(datetime.now(UTC).timestamp())
    verify(BODY, signed(BODY, at=at), SECRET)
    with pytest.raises(TimestampTooOld):
        verify(BODY, signed(BODY, at=at - 3600), SECRET)


# --- timestamps ------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamp_within_tolerance_passes_both_ways(offset: int) -> None:
    verify(BODY, signed(BODY, at=NOW + offset), SECRET, now=NOW)


def test_timestamp_too_old() -> None:
    with pytest.raises(TimestampTooOld) as caught:
        verify(BODY, signed(BODY, at=NOW - 301), SECRET, now=NOW)
    assert caught.value.header == "webhook-timestamp"
    assert "webhook-timestamp" in str(caught.value) and "301 s in the past" in str(caught.value)
    assert isinstance(caught.value, TimestampOutOfTolerance)


def test_timestamp_too_new() -> None:
    with pytest.raises(TimestampTooNew) as caught:
        verify(BODY, signed(BODY, at=NOW + 301), SECRET, now=NOW)
    assert caught.value.header == "webhook-timestamp"
    assert "301 s in the future" in str(caught.value)
    assert isinstance(caught.value, TimestampOutOfTolerance)


def test_tolerance_is_configurable() -> None:
    headers = signed(BODY, at=NOW - 3600)
    verify(BODY, headers, SECRET, now=NOW, tolerance=3600)
    with pytest.raises(TimestampTooOld):
        verify(BODY, headers, SECRET, now=NOW, tolerance=3599)
    with pytest.raises(TimestampTooNew):
        verify(BODY, signed(BODY, at=NOW + 1), SECRET, now=NOW, tolerance=0)


def test_signature_is_checked_before_the_time() -> None:
    """A forged request is reported as forged, whatever timestamp it claims."""
    headers = signed(BODY, [OTHER_SECRET], at=NOW - 10_000)
    with pytest.raises(InvalidSignature):
        verify(BODY, only(headers, *STANDARD), SECRET, now=NOW)


# --- missing headers -------------------------------------------------------------------


def test_no_signature_header_at_all() -> None:
    with pytest.raises(MissingHeader) as caught:
        verify(BODY, {"Content-Type": "application/json"}, SECRET, now=NOW)
    message = str(caught.value)
    assert "CrescLab-Signature" in message and "webhook-signature" in message


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_each_standard_header_is_required_once_one_is_there(name: str) -> None:
    headers = without(only(signed(BODY), *STANDARD), name)
    with pytest.raises(MissingHeader) as caught:
        verify(BODY, headers, SECRET, now=NOW)
    assert caught.value.header == name and name in str(caught.value)


@pytest.mark.parametrize(
    "name", ["CrescLab-Signature", "webhook-signature", "webhook-id", "webhook-timestamp"]
)
def test_an_empty_header_counts_as_missing(name: str) -> None:
    headers = signed(BODY)
    headers[name] = ""
    with pytest.raises(MissingHeader) as caught:
        verify(BODY, headers, SECRET, now=NOW)
    assert caught.value.header == name


def test_required_scheme_missing() -> None:
    with pytest.raises(MissingHeader) as caught:
        verify(BODY, only(signed(BODY), *MAAC), SECRET, now=NOW, schemes={"maac", "standard"})
    assert caught.value.header == "webhook-id"
    with pytest.raises(MissingHeader) as caught:
        verify(BODY, only(signed(BODY), *STANDARD), SECRET, now=NOW, schemes=["maac"])
    assert caught.value.header == "CrescLab-Signature"


def test_schemes_restrict_what_is_checked() -> None:
    headers = signed(BODY)
    headers["CrescLab-Signature"] = "0" * 64
    assert verify(BODY, headers, SECRET, now=NOW, schemes={"standard"}).schemes == ("standard",)
    headers = signed(BODY, at=NOW - 10**6)
    assert verify(BODY, headers, SECRET, now=NOW, schemes={"maac"}).timestamp is None


@pytest.mark.parametrize("schemes", [set(), {"hmac"}, {"maac", "v1"}])
def test_unknown_schemes_are_a_programming_error(schemes: set[str]) -> None:
    with pytest.raises(ValueError, match="schemes"):
        verify(BODY, signed(BODY), SECRET, now=NOW, schemes=schemes)  # type: ignore[arg-type]


# --- malformed headers -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "0" * 63, "0" * 65, "g" * 64, "sha256=" + "0" * 64])
def test_maac_signature_must_be_64_hex(value: str) -> None:
    headers = signed(BODY)
    headers["CrescLab-Signature"] = value
    with pytest.raises(MalformedHeader) as caught:
        verify(BODY, headers, SECRET, now=NOW)
    assert caught.value.header == "CrescLab-Signature"
    assert "CrescLab-Signature" in str(caught.value)


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "1e9", "0x10", "\uff11" * 10])
def test_timestamp_must_be_unix_seconds(value: str) -> None:
    headers = signed(BODY)
    headers["webhook-timestamp"] = value
    with pytest.raises(MalformedHeader) as caught:
        verify(BODY, headers, SECRET, now=NOW)
    assert caught.value.header == "webhook-timestamp"
    assert "Unix seconds" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "garbage",  # no version
        "v2,c29tZXRoaW5n",  # no v1 at all
        "v1,!!!not-base64!!!",  # v1, but unreadable
        "v1",
    ],
)
def test_webhook_signature_must_hold_a_readable_v1(value: str) -> None:
    headers = signed(BODY)
    headers["webhook-signature"] = value
    with pytest.raises(MalformedHeader) as caught:
        verify(BODY, headers, SECRET, now=NOW)
    assert caught.value.header == "webhook-signature"
    assert "webhook-signature" in str(caught.value)


def test_conflicting_repeated_header_is_refused() -> None:
    headers = WerkzeugHeaders(list(signed(BODY).items()))
    headers.add("WEBHOOK-ID", "msg_other")
    with pytest.raises(MalformedHeader, match="more than once"):
        verify(BODY, headers, SECRET, now=NOW)


# --- wrong signatures ------------------------------------------------------------------


def test_wrong_secret_fails_maac_first() -> None:
    with pytest.raises(InvalidSignature) as caught:
        verify(BODY, signed(BODY), OTHER_SECRET, now=NOW)
    assert caught.value.header == "CrescLab-Signature"
    assert "CrescLab-Signature does not match" in str(caught.value)


def test_wrong_secret_fails_standard() -> None:
    with pytest.raises(InvalidSignature) as caught:
        verify(BODY, only(signed(BODY), *STANDARD), OTHER_SECRET, now=NOW)
    assert caught.value.header == "webhook-signature"


def test_both_present_both_must_pass() -> None:
    good = signed(BODY)
    bad_maac = {**good, "CrescLab-Signature": signed(BODY, [OTHER_SECRET])["CrescLab-Signature"]}
    with pytest.raises(InvalidSignature) as caught:
        verify(BODY, bad_maac, SECRET, now=NOW)
    assert caught.value.header == "CrescLab-Signature"
    bad_std = {**good, "webhook-signature": signed(BODY, [OTHER_SECRET])["webhook-signature"]}
    with pytest.raises(InvalidSignature) as caught:
        verify(BODY, bad_std, SECRET, now=NOW)
    assert caught.value.header == "webhook-signature"


def test_changed_body_fails() -> None:
    changed = BODY.replace(b'"5821"', b'"5822"')
    assert changed != BODY
    with pytest.raises(InvalidSignature):
        verify(changed, signed(BODY), SECRET, now=NOW)
    with pytest.raises(InvalidSignature):
        verify(changed, only(signed(BODY), *STANDARD), SECRET, now=NOW)


def test_reserialized_body_fails() -> None:
    """Why the raw bytes matter: compact JSON is the same data but not the same bytes."""
    compact = BODY.replace(b", ", b",").replace(b": ", b":")
    with pytest.raises(InvalidSignature):
        verify(compact, signed(BODY), SECRET, now=NOW)


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp"])
def test_id_and_timestamp_are_signed(header: str) -> None:
    headers = only(signed(BODY), *STANDARD)
    headers[header] = "msg_other" if header == "webhook-id" else str(NOW + 1)
    with pytest.raises(InvalidSignature):
        verify(BODY, headers, SECRET, now=NOW)


def test_signature_of_another_key_in_right_format_fails() -> None:
    key = base64.b64decode(OTHER_SECRET.removeprefix("whsec_"))
    forged = hmac.new(key, f"{KEY}.{NOW}.".encode() + BODY, hashlib.sha256).digest()
    headers = only(signed(BODY), *STANDARD)
    headers["webhook-signature"] = "v1," + base64.b64encode(forged).decode()
    with pytest.raises(InvalidSignature):
        verify(BODY, headers, SECRET, now=NOW)


# --- misuse ----------------------------------------------------------------------------


def test_str_body_is_refused_with_a_reason() -> None:
    with pytest.raises(TypeError, match="raw request body as bytes"):
        verify(BODY.decode(), signed(BODY), SECRET, now=NOW)  # type: ignore[arg-type]


def test_negative_tolerance_and_naive_now_are_refused() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        verify(BODY, signed(BODY), SECRET, now=NOW, tolerance=-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(BODY, signed(BODY), SECRET, now=datetime(2026, 11, 29))


@pytest.mark.parametrize("secret", ["", "   ", [], [SECRET, ""], b"whsec_abc"])
def test_unusable_secrets_are_refused(secret: object) -> None:
    with pytest.raises(InvalidSecret):
        verify(BODY, signed(BODY), secret, now=NOW)  # type: ignore[arg-type]


def test_non_base64_secret_cannot_check_standard_headers() -> None:
    with pytest.raises(InvalidSecret, match="Standard Webhooks secret"):
        verify(BODY, only(signed(BODY), *STANDARD), "not base64!", now=NOW)
    with pytest.raises(InvalidSecret, match="empty"):
        standard_webhooks_key("whsec_")


def test_invalid_secret_is_not_a_webhook_error() -> None:
    """A setup mistake must surface as a server error, not as refusing the sender."""
    assert not issubclass(InvalidSecret, WebhookError)
    assert issubclass(InvalidSecret, ValueError)


# --- the exceptions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "code", "status"),
    [
        (MissingHeader, "missing_header", 400),
        (MalformedHeader, "malformed_header", 400),
        (InvalidSignature, "invalid_signature", 401),
        (TimestampTooOld, "timestamp_too_old", 401),
        (TimestampTooNew, "timestamp_too_new", 401),
    ],
)
def test_exception_classes(cls: type[WebhookVerificationError], code: str, status: int) -> None:
    assert issubclass(cls, WebhookVerificationError) and issubclass(cls, WebhookError)
    error = cls("webhook-id", "explained")
    assert (error.code, error.http_status, error.header) == (code, status, "webhook-id")
    assert error.to_dict() == {"error": code, "message": "explained"}


def test_invalid_payload_is_a_webhook_error_but_not_a_verification_error() -> None:
    assert issubclass(InvalidPayload, WebhookError) and issubclass(InvalidPayload, ValueError)
    assert not issubclass(InvalidPayload, WebhookVerificationError)
    assert InvalidPayload("x").http_status == 400


# --- property: round-trip with hookline's signer ---------------------------------------

secrets_st = st.binary(min_size=1, max_size=64).map(
    lambda raw: "whsec_" + base64.b64encode(raw).decode()
)
ids_st = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40
)


@settings(max_examples=150, deadline=None)
@given(
    body=st.binary(min_size=1, max_size=512),
    secret=secrets_st,
    key=ids_st,
    at=st.integers(min_value=0, max_value=2**33),
    data=st.data(),
)
def test_round_trip_and_any_single_byte_change_fails(
    body: bytes, secret: str, key: str, at: int, data: st.DataObject
) -> None:
    headers = signed(body, [secret], at=at, key=key)
    assert verify(body, headers, secret, now=at).schemes == ("maac", "standard")

    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1), label="index")
    delta = data.draw(st.integers(min_value=1, max_value=255), label="delta")
    changed = bytearray(body)
    changed[index] = (changed[index] + delta) % 256
    for subset in (MAAC, STANDARD):
        with pytest.raises(InvalidSignature):
            verify(bytes(changed), only(headers, *subset), secret, now=at)


@settings(max_examples=50, deadline=None)
@given(body=st.binary(max_size=256), secret=secrets_st, other=secrets_st)
def test_another_secret_never_verifies(body: bytes, secret: str, other: str) -> None:
    if standard_webhooks_key(secret) == standard_webhooks_key(other):
        return
    headers = signed(body, [secret], at=NOW)
    for subset in (MAAC, STANDARD):
        with pytest.raises(InvalidSignature):
            verify(body, only(headers, *subset), other, now=NOW)
