"""Random ``data`` for every topic: schema-valid, reproducible, and realistic.

Schema validity is checked with the catalog's own ``validate_data`` so the generator
can never drift from what hookline accepts. The realism checks cover the rules a
receiver's code is most likely to depend on and a schema cannot express, such as the
PNP detail fields agreeing with the overall status.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookline.catalog import TOPICS, validate_data
from hookline.devtools.fake import fake_data

ALL_TOPICS = sorted(TOPICS)
LINE_UID = re.compile(r"^U[0-9a-f]{32}$")
RECEIPT_NUMBER = re.compile(r"^[A-Z]{2}[0-9]{8}$")
TW_MOBILE = re.compile(r"^\+8869[0-9]{8}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
TAIPEI = timedelta(hours=8)


def _many(topic: str, seeds: int = 200) -> list[dict[str, Any]]:
    return [fake_data(topic, random.Random(seed)) for seed in range(seeds)]


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_every_seed_gives_schema_valid_data(topic: str) -> None:
    for seed, data in enumerate(_many(topic)):
        assert validate_data(TOPICS[topic], data) == [], (seed, data)


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_same_seed_same_data_and_seeds_vary(topic: str) -> None:
    assert fake_data(topic, random.Random(42)) == fake_data(topic, random.Random(42))
    distinct = {json.dumps(d, sort_keys=True) for d in _many(topic, 20)}
    assert len(distinct) == 20


@pytest.mark.parametrize("topic", ALL_TOPICS)
def test_data_is_json_and_does_not_share_state(topic: str) -> None:
    rng = random.Random(7)
    first, second = fake_data(topic, rng), fake_data(topic, rng)
    assert first != second
    assert json.loads(json.dumps(first, ensure_ascii=False)) == first


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(), topic=st.sampled_from(ALL_TOPICS))
def test_any_seed_is_valid(seed: int, topic: str) -> None:
    data = fake_data(topic, random.Random(seed))
    assert validate_data(TOPICS[topic], data) == []


def test_unknown_topic_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown topic"):
        fake_data("order.created", random.Random(0))


@pytest.mark.parametrize("topic", [t for t in ALL_TOPICS if "line_uid" in TOPICS[t].sample])
def test_line_uid_format(topic: str) -> None:
    for data in _many(topic, 50):
        assert LINE_UID.match(str(data["line_uid"]))


def test_receipt_realism() -> None:
    for data in _many("receipt.receipt_validated"):
        assert RECEIPT_NUMBER.match(data["number"])
        bought = datetime.fromisoformat(data["datetime"])
        uploaded = datetime.fromisoformat(data["upload_datetime"])
        assert bought.utcoffset() == uploaded.utcoffset() == TAIPEI
        assert uploaded > bought
        assert data["items"]
        for item in data["items"]:
            assert all(isinstance(item[k], float) for k in ("unit_price", "quantity", "amount"))
            assert item["amount"] == item["unit_price"] * item["quantity"]
            assert re.search(r"[\u4e00-\u9fff]", item["description"])


def test_nullable_fields_are_sometimes_null_and_sometimes_not() -> None:
    customers = [d["customer_id"] for d in _many("message.first_open")]
    assert None in customers
    assert any(c is not None for c in customers)
    expiries = [d["points_expire_date"] for d in _many("prize.points_added")]
    assert None in expiries
    for expiry in filter(None, expiries):
        assert datetime.fromisoformat(expiry).utcoffset() == TAIPEI


def test_phone_numbers_are_taiwanese_or_their_sha256() -> None:
    phones = [d["phone_number"] for d in _many("pnp.status_updated")]
    assert any(TW_MOBILE.match(p) for p in phones)
    assert any(SHA256_HEX.match(p) for p in phones)
    assert all(TW_MOBILE.match(p) or SHA256_HEX.match(p) for p in phones)
    for data in _many("pnp.profile_updated", 50):
        assert TW_MOBILE.match(data["phone_number"])


def test_pnp_status_agrees_with_detail_fields() -> None:
    seen = set()
    for data in _many("pnp.status_updated", 500):
        status = data["status"]
        seen.add(status)
        channel = next(c for c in ("line_push", "pnp", "sms") if status.startswith(c + "_"))
        outcome = status.removeprefix(channel + "_")
        assert data[f"{channel}_status"] == outcome
        if channel != "pnp":
            failed = outcome in ("failed", "undeliverable", "blocked")
            assert (data[f"{channel}_error_category"] is not None) == failed
        assert (data[f"{channel}_delivered_at"] is not None) == (outcome == "delivered")
        if channel == "line_push":
            assert data["line_push_template_id"] is not None
            assert data["pnp_status"] is None and data["sms_status"] is None
        if data["line_push_status"] is None:
            assert data["line_push_template_id"] is None
            assert data["line_push_error_category"] is None
        if channel == "sms":
            # SMS is the fallback: PNP was tried first and did not deliver.
            assert data["pnp_status"] in ("failed", "undeliverable")
        if status == "sms_failed":
            assert data["sms_error_category"] is not None
    assert len(seen) == len(TOPICS["pnp.status_updated"].schema["properties"]["status"]["enum"])


def test_surveycake_answer_is_consistent() -> None:
    for data in _many("form.surveycake_submitted"):
        answer = data["answer"]
        assert answer["alias"]["maac_member_line_uid"] == [data["line_uid"]]
        assert all(key.startswith("maac_member_") for key in answer["alias"])
        assert [q["sn"] for q in answer["result"]] == list(range(1, len(answer["result"]) + 1))
        aliased = {q["alias"]: q for q in answer["result"] if q["alias"]}
        assert set(aliased) == set(answer["alias"])
        if "maac_member_gender" in answer["alias"]:
            assert answer["alias"]["maac_member_gender"][0] in ("male", "female", "unknown")
        if data["customer_id"] is None:
            assert "maac_member_customer_id" not in answer["alias"]
        content = json.dumps(answer, ensure_ascii=False, sort_keys=True).encode()
        assert data["answer_hash"] == hashlib.sha256(content).hexdigest()
