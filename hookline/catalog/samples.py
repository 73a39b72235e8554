# Chinese text is written with fullwidth punctuation, which RUF001 mistakes for typos.
# ruff: noqa: RUF001
"""Sample ``data`` objects, one per topic.

They are what "Send test" delivers and what the docs show, so they look like a real
Taiwanese brand's LINE marketing traffic rather than placeholders: an engineer should
be able to paste one into a receiver test and exercise the same code paths (Chinese
text, floats, nulls) that production events will.
"""

from __future__ import annotations

from typing import Any

LINE_UID = "U8934fa6cfd94060d8efeb32867d9715d"
CUSTOMER_ID = "M00012345"
PHONE_NUMBER = "+886912345678"
PNP_SETTING_ID = 312
PNP_SETTING_NAME = "訂單出貨通知"
EVENT_ID = 5521

RECEIPT_VALIDATED: dict[str, Any] = {
    "line_uid": LINE_UID,
    "customer_id": CUSTOMER_ID,
    "campaign_name": "2026 冬季發票登錄抽好禮",
    "number": "AB12345678",
    "datetime": "2026-11-27T18:32:05+08:00",
    "upload_datetime": "2026-11-28T09:15:42+08:00",
    "random_number": "5821",
    "channel": "全家便利商店",
    "items": [
        {"description": "冷泡綠茶 500ml", "unit_price": 25.0, "quantity": 2.0, "amount": 50.0},
        {"description": "經典拿鐵 大杯", "unit_price": 65.0, "quantity": 1.0, "amount": 65.0},
    ],
}


def survey_question(
    sn: int,
    subject: str,
    kind: str,
    answer: list[str],
    *,
    alias: str = "",
    other: list[str] | None = None,
    answer_alias: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "subject": subject,
        "type": kind,
        "sn": sn,
        "label": "",
        "alias": alias,
        "answer": answer,
        "otherAnswer": other or [],
        "answerLabel": [],
        "answerAlias": answer_alias or [],
    }


SURVEYCAKE_SUBMITTED: dict[str, Any] = {
    "line_uid": LINE_UID,
    "customer_id": None,
    "survey_name": "2026 會員滿意度調查",
    "answer_hash": "2102ff1cc034e1bd3196e181f4b5c9ea740a48c94fb1e6c3fb4be9e2b99c2ada",
    "answer": {
        "id": 128734,
        "svid": "Lq3Zx",
        "title": "2026 會員滿意度調查",
        "status": "FINISH",
        "submitTime": "2026-11-28 15:43:20",
        "mbunq": None,
        "mbrid": None,
        "meta": {"isolated": {"status": False, "type": None}},
        "alias": {
            "maac_member_line_uid": [LINE_UID],
            "maac_member_name": ["王小明"],
            "maac_member_mobile": ["0912345678"],
            "maac_member_gender": ["male"],
            "maac_member_birthday": ["1990-05-20"],
        },
        "result": [
            survey_question(1, "LINE UID", "TXTSHORT", [LINE_UID], alias="maac_member_line_uid"),
            survey_question(2, "您的姓名", "TXTSHORT", ["王小明"], alias="maac_member_name"),
            survey_question(
                3, "您的手機號碼", "TXTSHORT", ["0912345678"], alias="maac_member_mobile"
            ),
            survey_question(
                4,
                "您的性別",
                "CHOICEONE",
                ["男"],
                alias="maac_member_gender",
                answer_alias=["male"],
            ),
            survey_question(
                5, "您的生日", "DATEPICKER", ["1990-05-20"], alias="maac_member_birthday"
            ),
            survey_question(
                6,
                "您最常在哪些通路購買我們的商品？",
                "CHOICEMULTI",
                ["全家便利商店", "其他"],
                other=["家樂福"],
            ),
            survey_question(7, "還有什麼想對我們說的嗎？", "TXTLONG", ["希望門市可以多一些座位。"]),
        ],
    },
}

PNP_STATUS_UPDATED: dict[str, Any] = {
    "pnp_setting_id": PNP_SETTING_ID,
    "pnp_setting_name": PNP_SETTING_NAME,
    "pnp_message_id": 884213,
    "event_id": EVENT_ID,
    "customized_id": "ORDER-20261128-0042",
    "phone_number": PHONE_NUMBER,
    "status": "pnp_delivered",
    "line_push_template_id": 1024,
    "line_push_status": "failed",
    "line_push_delivered_at": None,
    "line_push_error_category": "member_not_found",
    "pnp_status": "delivered",
    "pnp_delivered_at": "2026-11-28T15:43:20+08:00",
    "sms_status": None,
    "sms_delivered_at": None,
    "sms_error_category": None,
}

PNP_PROFILE_UPDATED: dict[str, Any] = {
    "pnp_setting_id": PNP_SETTING_ID,
    "pnp_setting_name": PNP_SETTING_NAME,
    "phone_number": PHONE_NUMBER,
    "source": "pnp",
    "line_uid": LINE_UID,
    "customer_id": None,
}

PRIZE_POINTS_ADDED: dict[str, Any] = {
    "prize_name": "會員生日禮 200 點",
    "points_id": "7d0f3c2a9b8e4f61a5c4d3e2f1a0b9c8",
    "points_category": "生日禮",
    "line_uid": LINE_UID,
    "customer_id": CUSTOMER_ID,
    "points_memo": "2026 生日月加碼",
    "points_count": 200,
    "points_expire_date": "2027-11-30T23:59:59+08:00",
}

MESSAGE_FIRST_OPEN: dict[str, Any] = {
    "message_type": "openapi",
    "message_id": EVENT_ID,
    "line_uid": LINE_UID,
    "customer_id": CUSTOMER_ID,
}
