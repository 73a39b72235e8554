"""The wire format and the retry rule, without I/O."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookline.domain import wire
from hookline.domain.retry import (
    EXTENDED_DELAYS,
    MAAC_DELAYS,
    Outcome,
    RetryPolicy,
    Verdict,
    judge,
    next_delay,
)
from hookline.domain.secrets import generate_share_secret

WHEN = datetime(2026, 11, 28, 7, 43, 26, 582968, tzinfo=UTC)


def test_body_is_json_dumps_default_with_platform_offset() -> None:
    body = wire.render_body("message.first_open", {"name": "王小明", "n": 1.0}, WHEN, "Asia/Taipei")
    assert body == (
        b'{"timestamp": "2026-11-28T15:43:26.582968+08:00", "topic": "message.first_open",'
        b' "data": {"name": "\\u738b\\u5c0f\\u660e", "n": 1.0}}'
    )


def test_timestamp_keeps_microseconds_even_when_zero() -> None:
    body = wire.render_body("t", {}, WHEN.replace(microsecond=0), "UTC")
    assert json.loads(body)["timestamp"] == "2026-11-28T07:43:26.000000+00:00"


@given(
    st.dictionaries(
        st.text(), st.text() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    )
)
def test_body_round_trips_and_equals_default_dumps(data: dict[str, object]) -> None:
    body = wire.render_body("t", data, WHEN, "Asia/Taipei")
    parsed = json.loads(body)
    assert list(parsed) == ["timestamp", "topic", "data"]
    assert body.decode("ascii") == json.dumps(parsed)


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf")])
def test_a_body_never_holds_what_json_cannot_carry(number: float) -> None:
    """Ingest refuses these first (422); rendering refuses them too rather than emit
    ``NaN`` or ``Infinity``, which no strict JSON parser reads."""
    with pytest.raises(ValueError, match="not JSON compliant"):
        wire.render_body("t", {"x": number}, WHEN, "UTC")


def test_headers_carry_both_signature_schemes() -> None:
    secret = generate_share_secret()
    key = wire.new_idempotency_key()
    body = b'{"a": 1}'
    headers = wire.delivery_headers(secrets=[secret], idempotency_key=key, body=body, sent_at=WHEN)
    assert (
        headers["CrescLab-Signature"] == hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    )
    assert headers["webhook-id"] == headers["CrescLab-Idempotency-Key"] == key
    assert headers["webhook-timestamp"] == str(int(WHEN.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert "CrescLab-Test" not in headers
    test = wire.delivery_headers(
        secrets=[secret], idempotency_key=key, body=body, sent_at=WHEN, test=True
    )
    assert test["CrescLab-Test"] == "true"
    with pytest.raises(ValueError, match="signing secret"):
        wire.delivery_headers(secrets=[], idempotency_key=key, body=body, sent_at=WHEN)


def test_idempotency_keys_are_32_lowercase_hex_and_unique() -> None:
    keys = {wire.new_idempotency_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert all(len(k) == 32 and k == k.lower() and int(k, 16) >= 0 for k in keys)


@pytest.mark.parametrize(
    ("status", "transport", "verdict"),
    [
        (200, False, Verdict.DELIVERED),
        (204, False, Verdict.DELIVERED),
        (299, False, Verdict.DELIVERED),
        (301, False, Verdict.FAILED),
        (400, False, Verdict.FAILED),
        (410, False, Verdict.FAILED),
        (408, False, Verdict.RETRY),
        (429, False, Verdict.RETRY),
        (500, False, Verdict.RETRY),
        (599, False, Verdict.RETRY),
        (None, True, Verdict.RETRY),
        (None, False, Verdict.FAILED),
    ],
)
def test_the_maac_retry_rule(status: int | None, transport: bool, verdict: Verdict) -> None:
    assert judge(Outcome(status_code=status, transport_error=transport)) is verdict


def test_blocked_is_never_retried() -> None:
    assert judge(Outcome(None, transport_error=True, blocked=True)) is Verdict.FAILED


def test_maac_policy_is_exactly_1_2_4_then_done() -> None:
    outcome = Outcome(500, False)
    delays = [next_delay(RetryPolicy.MAAC, n, outcome) for n in range(1, 5)]
    assert delays == [*MAAC_DELAYS, None]


@given(st.integers(min_value=0, max_value=2**32))
def test_extended_jitter_stays_within_20_percent(seed: int) -> None:
    rng = random.Random(seed)
    outcome = Outcome(503, False)
    for n, nominal in enumerate(EXTENDED_DELAYS, start=1):
        delay = next_delay(RetryPolicy.EXTENDED, n, outcome, rng)
        assert delay is not None
        if n <= 3:
            assert delay == nominal
        else:
            assert nominal * 0.8 <= delay <= nominal * 1.2
    assert next_delay(RetryPolicy.EXTENDED, len(EXTENDED_DELAYS) + 1, outcome, rng) is None


def test_retry_after_only_lengthens_and_is_capped() -> None:
    assert next_delay(RetryPolicy.MAAC, 1, Outcome(429, False, retry_after=30)) == 30
    assert next_delay(RetryPolicy.MAAC, 2, Outcome(503, False, retry_after=0.5)) == 2.0
    assert next_delay(RetryPolicy.MAAC, 1, Outcome(500, False, retry_after=30)) == 1.0
    assert next_delay(RetryPolicy.MAAC, 1, Outcome(429, False, retry_after=10**9)) == 3600
