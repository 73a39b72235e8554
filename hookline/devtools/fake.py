# Chinese text is written with fullwidth punctuation, which RUF001 mistakes for typos.
# ruff: noqa: RUF001
"""Random but believable ``data`` objects for every topic.

``hookline simulate`` and load tests need many events that a receiver cannot tell from
production traffic: Taiwanese phone numbers, Chinese product names, float prices,
nulls where MAAC sends nulls, and PNP statuses whose detail fields agree with the
overall status. A single sample per topic exercises one code path; these exercise many.

Everything is drawn from the ``rng`` passed in (never the global one, never the clock),
so a seed reproduces a run exactly, which is what makes a failing load test debuggable.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from hookline.catalog.samples import survey_question
from hookline.catalog.schemas import (
    LINE_PUSH_ERROR_CATEGORIES,
    MESSAGE_TYPES,
    PNP_STATUSES,
    PROFILE_SOURCES,
    SMS_ERROR_CATEGORIES,
)

Data = dict[str, object]

TAIPEI = timezone(timedelta(hours=8))
_EPOCH = datetime(2026, 1, 1, tzinfo=TAIPEI)
_YEAR_SECONDS = 365 * 24 * 3600

# fmt: off
_PRODUCTS = (
    ("冷泡綠茶 500ml", 25.0), ("經典拿鐵 大杯", 65.0), ("美式咖啡 中杯", 45.0),
    ("珍珠鮮奶茶", 60.0), ("御飯糰 鮪魚", 35.0), ("茶葉蛋", 13.0),
    ("黑糖蜂蜜蛋糕", 120.0), ("洗髮精 補充包 650ml", 189.0), ("衛生紙 12 抽", 239.0),
    ("鳳梨酥禮盒 6 入", 350.0), ("無糖豆漿 450ml", 28.0), ("義美小泡芙", 32.5),
)
_CHANNELS = (
    "全家便利商店", "7-ELEVEN", "萊爾富", "OK超商", "全聯福利中心", "家樂福", "官方網路商店",
)
_CAMPAIGNS = ("2026 冬季發票登錄抽好禮", "週年慶滿額登錄送", "春節發票抽 iPhone", "會員日雙倍點數")
_SURVEYS = ("2026 會員滿意度調查", "新品試吃回饋問卷", "門市服務體驗調查", "生日禮領取表單")
_SURNAMES = "王李張劉陳楊黃趙吳周林郭蔡"
_GIVEN = ("小明", "美玲", "志豪", "淑芬", "怡君", "家豪", "雅婷", "俊傑", "宜蓁", "冠宇")
_MAIL_NAMES = ("xiaoming", "meiling", "chihhao", "shufen", "yijun", "jiahao", "yating")
_MAIL_HOSTS = ("gmail.com", "yahoo.com.tw", "hotmail.com", "msa.hinet.net")
_COMMENTS = ("希望門市可以多一些座位。", "店員很親切！", "APP 結帳有點慢。", "希望多辦集點活動。")
_PNP_SETTINGS = (
    (312, "訂單出貨通知"), (318, "付款成功通知"), (325, "預約提醒"), (331, "點數到期提醒"),
)
_PRIZES = (
    ("會員生日禮 200 點", "生日禮", 200), ("新好友加入禮", "入會禮", 50),
    ("發票登錄回饋", "發票登錄", 30), ("問卷填答謝禮", None, 20),
)
_PNP_DETAILS = (
    "line_push_template_id", "line_push_status", "line_push_delivered_at",
    "line_push_error_category", "pnp_status", "pnp_delivered_at",
    "sms_status", "sms_delivered_at", "sms_error_category",
)
# fmt: on


def _hex(rng: random.Random, digits: int) -> str:
    return format(rng.getrandbits(digits * 4), f"0{digits}x")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _line_uid(rng: random.Random) -> str:
    return "U" + _hex(rng, 32)


def _phone(rng: random.Random) -> str:
    return "+8869" + _digits(rng, 8)


def _moment(rng: random.Random) -> datetime:
    return _EPOCH + timedelta(seconds=rng.randrange(_YEAR_SECONDS))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _customer_id(rng: random.Random, *, nullable: bool = True) -> str | None:
    # Many LINE friends never bind a member account, so null is common, not rare.
    if nullable and rng.random() < 0.35:
        return None
    return "M" + _digits(rng, 8)


def _receipt(rng: random.Random) -> Data:
    bought = _moment(rng)
    items: list[Data] = []
    for name, price in rng.sample(_PRODUCTS, rng.randint(1, 4)):
        qty = float(rng.randint(1, 3))
        items.append(dict(description=name, unit_price=price, quantity=qty, amount=price * qty))
    letters = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(2))
    return {
        "line_uid": _line_uid(rng),
        "customer_id": _customer_id(rng),
        "campaign_name": rng.choice(_CAMPAIGNS) if rng.random() < 0.9 else None,
        "number": letters + _digits(rng, 8),
        "datetime": _iso(bought),
        "upload_datetime": _iso(bought + timedelta(seconds=rng.randrange(60, 7 * 86400))),
        "random_number": _digits(rng, 4),
        "channel": rng.choice(_CHANNELS),
        "items": items,
    }


def _survey_questions(rng: random.Random, uid: str, customer: str | None) -> list[Data]:
    """The questions of one answer: member questions, a channel question, a comment."""
    gender, gender_text = rng.choice((("male", "男"), ("female", "女"), ("unknown", "不透露")))
    birthday = (datetime(1960, 1, 1) + timedelta(days=rng.randrange(45 * 365))).date()
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    email = f"{rng.choice(_MAIL_NAMES)}{_digits(rng, 2)}@{rng.choice(_MAIL_HOSTS)}"
    # (alias, subject, type, answer, answer aliases); LINE uid is always asked, the
    # other member questions vary per survey as marketing configures them.
    member = [
        ("maac_member_line_uid", "LINE UID", "TXTSHORT", uid, None),
        ("maac_member_name", "您的姓名", "TXTSHORT", name, None),
        ("maac_member_mobile", "您的手機號碼", "TXTSHORT", "09" + _digits(rng, 8), None),
        ("maac_member_gender", "您的性別", "CHOICEONE", gender_text, [gender]),
        ("maac_member_birthday", "您的生日", "DATEPICKER", birthday.isoformat(), None),
        ("maac_member_email", "您的電子信箱", "TXTSHORT", email, None),
    ]
    if customer is not None:
        member.append(("maac_member_customer_id", "會員編號", "TXTSHORT", customer, None))
    asked = member[:1] + [q for q in member[1:] if rng.random() < 0.7]
    result = [
        survey_question(sn, subject, kind, [text], alias=alias, answer_alias=answer_alias)
        for sn, (alias, subject, kind, text, answer_alias) in enumerate(asked, 1)
    ]
    channels = rng.sample(_CHANNELS[:4], rng.randint(1, 2))
    other = [rng.choice(_CHANNELS[4:])] if rng.random() < 0.3 else []
    result.append(
        survey_question(
            len(result) + 1,
            "您最常在哪些通路購買我們的商品？",
            "CHOICEMULTI",
            channels + (["其他"] if other else []),
            other=other,
        )
    )
    if rng.random() < 0.6:
        result.append(
            survey_question(
                len(result) + 1, "還有什麼想對我們說的嗎？", "TXTLONG", [rng.choice(_COMMENTS)]
            )
        )
    return result


def _survey(rng: random.Random) -> Data:
    uid, customer = _line_uid(rng), _customer_id(rng)
    result = _survey_questions(rng, uid, customer)
    survey = rng.choice(_SURVEYS) if rng.random() < 0.9 else None
    member_key = _hex(rng, 16) if rng.random() < 0.2 else None
    answer: Data = {
        "id": rng.randint(100_000, 999_999),
        "svid": "".join(
            rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789") for _ in range(5)
        ),
        "title": survey or rng.choice(_SURVEYS),
        "status": "FINISH",
        "submitTime": _moment(rng).strftime("%Y-%m-%d %H:%M:%S"),
        "mbunq": member_key,
        "mbrid": str(rng.randint(1000, 99999)) if member_key else None,
        "meta": {"isolated": {"status": False, "type": None}},
        # Choice questions report the option alias (``male``), not the label shown (男).
        "alias": {q["alias"]: q["answerAlias"] or q["answer"] for q in result if q["alias"]},
        "result": result,
    }
    content = json.dumps(answer, ensure_ascii=False, sort_keys=True).encode()
    return {
        "line_uid": uid,
        "customer_id": customer,
        "survey_name": survey,
        "answer_hash": hashlib.sha256(content).hexdigest(),
        "answer": answer,
    }


def _pnp_status(rng: random.Random) -> Data:
    """A status update whose detail fields tell the same story as ``status``.

    MAAC tries LINE push first (when a template is set), then PNP, then SMS; a status
    on a later channel means the earlier ones were tried and did not deliver.
    """
    status = rng.choice(PNP_STATUSES)
    channel = next(c for c in ("line_push", "pnp", "sms") if status.startswith(c + "_"))
    outcome = status.removeprefix(channel + "_")
    now = _moment(rng)
    setting_id, setting_name = rng.choice(_PNP_SETTINGS)
    phone = _phone(rng)
    if rng.random() < 0.2:
        phone = hashlib.sha256(phone.encode()).hexdigest()
    data: Data = {
        "pnp_setting_id": setting_id,
        "pnp_setting_name": setting_name,
        "pnp_message_id": rng.randint(100_000, 999_999),
        "event_id": rng.randint(1000, 99999),
        "customized_id": f"ORDER-{now:%Y%m%d}-{_digits(rng, 4)}" if rng.random() < 0.6 else None,
        "phone_number": phone,
        "status": status,
        **dict.fromkeys(_PNP_DETAILS),
    }
    if channel == "line_push" or rng.random() < 0.5:
        line_outcome = (
            outcome if channel == "line_push" else rng.choice(("failed", "undeliverable"))
        )
        data["line_push_template_id"] = rng.randint(1000, 1999)
        data["line_push_status"] = line_outcome
        if line_outcome == "delivered":
            data["line_push_delivered_at"] = _iso(now)
        elif line_outcome in ("failed", "undeliverable"):
            data["line_push_error_category"] = rng.choice(LINE_PUSH_ERROR_CATEGORIES)
    if channel in ("pnp", "sms"):
        data["pnp_status"] = (
            outcome if channel == "pnp" else rng.choice(("failed", "undeliverable"))
        )
        if data["pnp_status"] == "delivered":
            data["pnp_delivered_at"] = _iso(now)
    if channel == "sms":
        data["sms_status"] = outcome
        if outcome == "delivered":
            data["sms_delivered_at"] = _iso(now)
        elif outcome in ("failed", "undeliverable"):
            data["sms_error_category"] = rng.choice(SMS_ERROR_CATEGORIES)
        elif outcome == "blocked":
            data["sms_error_category"] = "sensitive_words"
    return data


def _pnp_profile(rng: random.Random) -> Data:
    setting_id, setting_name = rng.choice(_PNP_SETTINGS)
    return {
        "pnp_setting_id": setting_id,
        "pnp_setting_name": setting_name,
        "phone_number": _phone(rng),
        "source": rng.choice(PROFILE_SOURCES),
        "line_uid": _line_uid(rng),
        "customer_id": _customer_id(rng),
    }


def _points(rng: random.Random) -> Data:
    prize, category, points = rng.choice(_PRIZES)
    expires = None
    if rng.random() < 0.75:
        month_end = datetime(2027, rng.randint(1, 12), 1, tzinfo=TAIPEI) - timedelta(seconds=1)
        expires = _iso(month_end)
    return {
        "prize_name": prize,
        "points_id": _hex(rng, 32),
        "points_category": category,
        "line_uid": _line_uid(rng),
        "customer_id": _customer_id(rng, nullable=False),
        "points_memo": f"{_moment(rng):%Y} {prize}",
        "points_count": points,
        "points_expire_date": expires,
    }


def _first_open(rng: random.Random) -> Data:
    return {
        "message_type": rng.choice(MESSAGE_TYPES),
        "message_id": rng.randint(1000, 99999),
        "line_uid": _line_uid(rng),
        "customer_id": _customer_id(rng),
    }


_MAKERS: dict[str, Callable[[random.Random], Data]] = {
    "receipt.receipt_validated": _receipt,
    "form.surveycake_submitted": _survey,
    "pnp.status_updated": _pnp_status,
    "pnp.profile_updated": _pnp_profile,
    "prize.points_added": _points,
    "message.first_open": _first_open,
}


def fake_data(topic: str, rng: random.Random) -> Data:
    """A fresh, schema-valid ``data`` object for ``topic``, drawn only from ``rng``."""
    try:
        maker = _MAKERS[topic]
    except KeyError:
        raise ValueError(f"unknown topic {topic!r}; expected one of {sorted(_MAKERS)}") from None
    return maker(rng)


__all__ = ["fake_data"]
