"""SurveyCake's answers, as pure rules: decrypt, read, and turn into MAAC's ``data``.

SurveyCake posts only ``svid`` and ``hash``; the answer is fetched from its query API
as base64 text of AES-128-CBC ciphertext under the survey's "Hash key" and "IV key".
Its README says zero padding, its PHP sample decrypts with PKCS#7: trailing NULs are
stripped, and failing that valid PKCS#7 padding, so both senders read the same.

Everything that can go wrong with an answer is an ``AnswerProblem`` with a stable
``code``: it is recorded on the notification and the survey, never raised past the job.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

DEFAULT_BASE_URL = "https://www.surveycake.com"
QUERY_VERSION = "v0"
KEY_LENGTH = 16
SVID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
HASH_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
KEY_PATTERN = re.compile(r"[\x21-\x7e]{16}")
LINE_UID_PATTERN = re.compile(r"U[0-9a-f]{32}")
LINE_UID_ALIAS = "maac_member_line_uid"
CUSTOMER_ID_ALIAS = "maac_member_customer_id"
QUESTION_TYPES = (
    "TXTSHORT",
    "TXTLONG",
    "CHOICEONE",
    "CHOICEMULTI",
    "NEST",
    "NESTCHILD",
    "DIGITINPUT",
    "DIGITSLIDE",
    "ITEMSORT",
    "RATINGBAR",
    "PICKFROM",
    "QUOTE",
    "STATEMENT",
    "DATEPICKER",
    "DIVIDER",
)
"""SurveyCake's documented question types; an answer may carry others (kept as sent)."""
DEFAULT_META: dict[str, Any] = {"isolated": {"status": False, "type": None}}
_BASE64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_LIST_FIELDS = ("answer", "otherAnswer", "answerLabel", "answerAlias")


class AnswerProblem(Exception):
    """Why an answer could not be read; ``code`` is stable, ``detail`` is for people."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Fetched:
    """What one GET of the query API came to: a status and body, or a transport error."""

    status: int | None
    body: bytes = b""
    error: str | None = None
    """Why nothing (or no status) came back: a timeout, a refused or blocked address."""
    retryable: bool = False
    """A timeout, a connection failure, a 5xx or a 429: worth asking again later."""

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


def query_url(base_url: str, svid: str, answer_hash: str) -> str:
    """``{base_url}/webhook/v0/{svid}/{hash}``; both parts are checked URL-safe at intake."""
    return f"{base_url.rstrip('/')}/webhook/{QUERY_VERSION}/{quote(svid)}/{quote(answer_hash)}"


def prefill_link(base_url: str, svid: str, line_uid: str, customer_id: str | None = None) -> str:
    """The survey's link with the MAAC member aliases as query parameters.

    SurveyCake's "Alias and Default" fills a question's default from the query
    parameter named by its alias, so the answer carries the LINE friend back.
    """
    params = {LINE_UID_ALIAS: line_uid}
    if customer_id:
        params[CUSTOMER_ID_ALIAS] = customer_id
    return f"{base_url.rstrip('/')}/s/{quote(svid)}?{urlencode(params)}"


def _unpad(plain: bytes) -> bytes:
    """Zero padding as SurveyCake documents it; PKCS#7 as its PHP sample produces."""
    stripped = plain.rstrip(b"\0")
    if stripped != plain:
        return stripped
    n = plain[-1] if plain else 0
    if 1 <= n <= 16 and plain.endswith(bytes([n]) * n):
        return plain[:-n]
    return plain


def decrypt(ciphertext: bytes, hash_key: str, iv_key: str) -> dict[str, Any]:
    """The answer JSON object inside SurveyCake's base64 ciphertext."""
    packed = b"".join(ciphertext.split())
    try:
        raw = base64.b64decode(packed, validate=True)
    except (binascii.Error, ValueError) as exc:
        if _BASE64.fullmatch(packed):  # base64 letters, but not a whole number of quads
            raise AnswerProblem(
                "answer_truncated", "The base64 text of the answer was cut short."
            ) from exc
        raise AnswerProblem("answer_not_base64", "The query API's answer is not base64.") from exc
    if not raw or len(raw) % 16:
        raise AnswerProblem(
            "answer_truncated",
            f"The ciphertext is {len(raw)} bytes, not a whole number of 16-byte AES blocks:"
            " the answer was cut short.",
        )
    decryptor = Cipher(
        algorithms.AES(hash_key.encode("ascii")), modes.CBC(iv_key.encode("ascii"))
    ).decryptor()
    plain = _unpad(decryptor.update(raw) + decryptor.finalize())
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    try:
        found = json.loads(text)
    except ValueError as exc:
        if text.startswith("{"):  # the keys are right: the JSON itself is cut or broken
            raise AnswerProblem(
                "malformed_answer", "The decrypted answer is not complete JSON."
            ) from exc
        raise AnswerProblem(
            "wrong_keys",
            "The answer does not decrypt to JSON with this survey's keys: check its Hash key"
            " and IV key in SurveyCake.",
        ) from exc
    if not isinstance(found, dict):
        raise AnswerProblem("malformed_answer", "The decrypted answer is not a JSON object.")
    return found


def encrypt(answer: Mapping[str, Any], hash_key: str, iv_key: str) -> bytes:
    """What SurveyCake serves: base64 of the zero-padded AES-128-CBC ciphertext (fakes, tests).

    The JSON escapes non-ASCII text (``\\u738b``), as PHP's ``json_encode`` does by default.
    """
    plain = json.dumps(answer).encode("ascii")
    plain += b"\0" * (-len(plain) % 16)
    encryptor = Cipher(
        algorithms.AES(hash_key.encode("ascii")), modes.CBC(iv_key.encode("ascii"))
    ).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize())


def _texts(value: Any, where: str) -> list[str]:
    """A list of answers as text: numbers become text, anything else is malformed."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise AnswerProblem("malformed_answer", f"{where} is not a list.")
    out: list[str] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise AnswerProblem("malformed_answer", f"{where} holds something other than text.")
        out.append(item if isinstance(item, str) else json.dumps(item))
    return out


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AnswerProblem("malformed_answer", f"{where} is not text.")
    return value


def _question(item: Any, index: int) -> dict[str, Any]:
    where = f"result[{index}]"
    if not isinstance(item, dict):
        raise AnswerProblem("malformed_answer", f"{where} is not an object.")
    sn = item.get("sn")
    if isinstance(sn, bool) or not isinstance(sn, int):
        raise AnswerProblem("malformed_answer", f"{where}.sn is not a number.")
    question: dict[str, Any] = {
        "subject": _text(item.get("subject"), f"{where}.subject"),
        "type": _text(item.get("type"), f"{where}.type"),
        "sn": sn,
        "label": _text(item.get("label"), f"{where}.label"),
        "alias": _text(item.get("alias"), f"{where}.alias"),
    }
    for name in _LIST_FIELDS:
        question[name] = _texts(item.get(name), f"{where}.{name}")
    return question


def _answer_id(answer: Mapping[str, Any], answer_hash: str) -> int:
    """SurveyCake's answer has no id; MAAC's ``answer.id`` is a number: the answer's own
    id when it has one, else 48 bits of its hash (the same answer, the same id)."""
    given = answer.get("id")
    if isinstance(given, int) and not isinstance(given, bool):
        return given
    return int.from_bytes(hashlib.sha256(answer_hash.encode("utf-8")).digest()[:6])


@dataclass(frozen=True)
class Submission:
    """MAAC's ``data`` for ``form.surveycake_submitted``; ``line_uid`` None: not linked."""

    data: dict[str, Any]
    line_uid: str | None
    unlinked_reason: str | None


def alias_answers(result: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``{alias: answers}`` per aliased question; an option's alias wins over its label."""
    found: dict[str, list[str]] = {}
    for question in result:
        if question["alias"]:
            values = question["answerAlias"] if any(question["answerAlias"]) else question["answer"]
            found.setdefault(question["alias"], []).extend(values)
    return found


def _first(values: list[str] | None) -> str | None:
    for value in values or ():
        if value.strip():
            return value.strip()
    return None


def submission(
    answer: Mapping[str, Any], *, svid: str, answer_hash: str, survey_name: str | None
) -> Submission:
    """Read a decrypted answer into MAAC's ``data``; a malformed one raises AnswerProblem."""
    if answer.get("svid", svid) != svid:
        raise AnswerProblem("malformed_answer", "The answer belongs to another survey (svid).")
    items = answer.get("result")
    if not isinstance(items, list):
        raise AnswerProblem("malformed_answer", "The answer has no result list.")
    result = [_question(item, i) for i, item in enumerate(items)]
    aliases = alias_answers(result)
    meta = answer.get("meta")
    body = {
        "id": _answer_id(answer, answer_hash),
        "svid": svid,
        "title": _text(answer.get("title"), "title"),
        "status": _text(answer.get("status"), "status") or "FINISH",
        "submitTime": _text(answer.get("submitTime"), "submitTime"),
        "mbunq": answer.get("mbunq") if isinstance(answer.get("mbunq"), str) else None,
        "mbrid": answer.get("mbrid") if isinstance(answer.get("mbrid"), str) else None,
        "meta": meta if isinstance(meta, dict) else DEFAULT_META,
        "alias": aliases,
        "result": result,
    }
    line_uid = _first(aliases.get(LINE_UID_ALIAS))
    reason = None
    if line_uid is None:
        reason = f"no answer has the alias {LINE_UID_ALIAS}"
    elif not LINE_UID_PATTERN.fullmatch(line_uid):
        reason = f"the {LINE_UID_ALIAS} answer is not a LINE user id"
        line_uid = None
    data = {
        "line_uid": line_uid,
        "customer_id": _first(aliases.get(CUSTOMER_ID_ALIAS)),
        "survey_name": survey_name,
        "answer_hash": answer_hash,
        "answer": body,
    }
    return Submission(data=data, line_uid=line_uid, unlinked_reason=reason)
