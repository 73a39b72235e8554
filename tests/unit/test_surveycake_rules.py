"""SurveyCake's answers: decryption (zero and PKCS#7 padding), faults, MAAC's data."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hookline.catalog import TOPICS, validate_data
from hookline.devtools.fake_surveycake import DEMO_LINE_UID, demo_answer
from hookline.domain import surveycake as rules

KEY = "0123456789abcdef"
IV = "fedcba9876543210"


def pkcs7_ciphertext(answer: dict[str, Any]) -> bytes:
    """What SurveyCake's PHP sample (OpenSSL defaults) would produce."""
    padder = padding.PKCS7(128).padder()
    plain = padder.update(json.dumps(answer).encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(KEY.encode()), modes.CBC(IV.encode())).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize())


def problem_of(body: bytes, key: str = KEY, iv: str = IV) -> str:
    with pytest.raises(rules.AnswerProblem) as caught:
        rules.decrypt(body, key, iv)
    return caught.value.code


def test_zero_padded_answers_decrypt_to_what_was_encrypted() -> None:
    answer = demo_answer()
    assert rules.decrypt(rules.encrypt(answer, KEY, IV), KEY, IV) == answer


def test_pkcs7_padded_answers_decrypt_too() -> None:
    answer = {"svid": "abc", "result": []}
    assert rules.decrypt(pkcs7_ciphertext(answer), KEY, IV) == answer


def test_line_breaks_in_the_base64_text_are_ignored() -> None:
    body = rules.encrypt(demo_answer(), KEY, IV)
    wrapped = b"\n".join(body[i : i + 76] for i in range(0, len(body), 76)) + b"\r\n"
    assert rules.decrypt(wrapped, KEY, IV) == demo_answer()


def test_wrong_keys_are_told_apart_from_a_cut_answer() -> None:
    body = rules.encrypt(demo_answer(), KEY, IV)
    assert problem_of(body, key="x" * 16) == "wrong_keys"
    assert problem_of(body, iv="y" * 16) == "wrong_keys"  # the first block goes wrong
    raw = base64.b64decode(body)
    assert problem_of(base64.b64encode(raw[:-5])) == "answer_truncated"
    assert problem_of(base64.b64encode(raw[:-16])) == "malformed_answer"  # JSON cut mid-way
    assert problem_of(b"") == "answer_truncated"
    assert problem_of(b"not base64 at all!") == "answer_not_base64"
    assert problem_of(rules.encrypt([1, 2], KEY, IV)) == "malformed_answer"  # type: ignore[arg-type]


def test_the_demo_answer_becomes_maacs_data() -> None:
    found = rules.submission(demo_answer(), svid="hlDemo", answer_hash="ab" * 16, survey_name="S")
    data = found.data
    assert found.line_uid == DEMO_LINE_UID and found.unlinked_reason is None
    assert data["line_uid"] == DEMO_LINE_UID
    assert data["customer_id"] == "C-1001"
    assert data["survey_name"] == "S" and data["answer_hash"] == "ab" * 16
    body = data["answer"]
    assert body["svid"] == "hlDemo" and body["status"] == "FINISH"
    assert body["meta"] == {"isolated": {"status": False, "type": None}}
    assert body["mbunq"] is None and body["mbrid"] is None
    assert isinstance(body["id"], int) and body["id"] < 2**53
    alias = body["alias"]
    assert alias["maac_member_gender"] == ["male"]  # the option's alias, not its text
    assert alias["通路"] == ["familymart", "other"]
    assert alias["建議"] == ["希望門市\n多一些座位。"]
    assert alias["評分_店員"] == ["滿意"] and alias["評分_環境"] == ["普通"]
    kinds = {q["type"] for q in body["result"]}
    assert set(rules.QUESTION_TYPES) <= kinds
    multi = next(q for q in body["result"] if q["type"] == "CHOICEMULTI")
    assert multi["otherAnswer"] == ["家樂福"] and multi["answerLabel"] == ["B", "E"]
    assert validate_data(TOPICS["form.surveycake_submitted"], data) == []


def test_the_same_answer_gets_the_same_id() -> None:
    one = rules.submission(demo_answer(), svid="hlDemo", answer_hash="h1", survey_name=None)
    two = rules.submission(demo_answer(), svid="hlDemo", answer_hash="h1", survey_name=None)
    other = rules.submission(demo_answer(), svid="hlDemo", answer_hash="h2", survey_name=None)
    assert one.data["answer"]["id"] == two.data["answer"]["id"] != other.data["answer"]["id"]


@pytest.mark.parametrize(
    ("line_uid", "reason"),
    [(None, "no answer has the alias"), ("U123", "not a LINE user id"), ("  ", "no answer")],
)
def test_an_answer_without_a_line_friend_is_not_linked(line_uid: str | None, reason: str) -> None:
    answer = demo_answer(line_uid)
    if line_uid is None:
        answer["result"] = [q for q in answer["result"] if q["alias"] != "maac_member_line_uid"]
    found = rules.submission(answer, svid="hlDemo", answer_hash="h", survey_name=None)
    assert found.line_uid is None and found.data["line_uid"] is None
    assert found.unlinked_reason is not None and reason in found.unlinked_reason


@pytest.mark.parametrize(
    "change",
    [
        {"result": "nope"},
        {"result": [{"subject": "q", "type": "TXTSHORT", "answer": ["a"]}]},  # no sn
        {"result": [{"sn": 1, "answer": [{"deep": 1}]}]},
        {"result": [{"sn": 1, "answer": [True]}]},
        {"result": [{"sn": 1, "subject": 5}]},
        {"svid": "someone-else"},
    ],
)
def test_malformed_answers_are_named(change: dict[str, Any]) -> None:
    with pytest.raises(rules.AnswerProblem) as caught:
        rules.submission(
            {**demo_answer(), **change}, svid="hlDemo", answer_hash="h", survey_name=None
        )
    assert caught.value.code == "malformed_answer"


def test_numbers_in_answers_become_text_and_missing_lists_empty() -> None:
    answer = {"svid": "s", "result": [{"sn": 3, "type": "DIGITINPUT", "answer": [3, 2.5]}]}
    found = rules.submission(answer, svid="s", answer_hash="h", survey_name=None)
    (question,) = found.data["answer"]["result"]
    assert question["answer"] == ["3", "2.5"] and question["otherAnswer"] == []
    assert question["subject"] == "" and question["alias"] == ""


def test_links_and_query_urls() -> None:
    assert (
        rules.query_url("https://www.surveycake.com/", "yPZQe", "5fd5")
        == "https://www.surveycake.com/webhook/v0/yPZQe/5fd5"
    )
    link = rules.prefill_link("https://x.example", "yPZQe", DEMO_LINE_UID, "C 1&2")
    assert link == (
        f"https://x.example/s/yPZQe?maac_member_line_uid={DEMO_LINE_UID}"
        "&maac_member_customer_id=C+1%262"
    )
