"""The ``data`` fields of each topic, as MAAC documents them.

Each function returns the ``properties`` of one topic; ``topics.py`` wraps them into a
full schema. The property descriptions are written for the engineer who receives the
webhook, because the engineer docs are generated from them.

Where MAAC's own documentation contradicts itself, the schema follows what MAAC sends
(see the notes on ``form.surveycake_submitted``'s ``answer``).
"""

from __future__ import annotations

from typing import Any, get_args

from hookline.catalog._fields import (
    choice,
    customer_id,
    line_uid,
    number,
    record,
    strings,
    text,
)
from hookline.receiver import (
    LinePushErrorCategory,
    MessageType,
    PnpStatus,
    ProfileSource,
    SmsErrorCategory,
)

Properties = dict[str, dict[str, Any]]

# One list of each enumeration: the receiver library's typed ``Literal`` is the source,
# so the schema (and the docs made from it) and the typed models cannot disagree.
PNP_STATUSES: tuple[str, ...] = get_args(PnpStatus)
LINE_PUSH_ERROR_CATEGORIES: tuple[str, ...] = get_args(LinePushErrorCategory)
SMS_ERROR_CATEGORIES: tuple[str, ...] = get_args(SmsErrorCategory)
PROFILE_SOURCES: tuple[str, ...] = get_args(ProfileSource)
MESSAGE_TYPES: tuple[str, ...] = get_args(MessageType)

# The send request may carry either the number itself or its SHA-256 hex digest, and
# MAAC echoes back whichever it got; the hash's letter case is the sender's.
PHONE_OR_HASH_PATTERN = r"^(\+[1-9][0-9]{1,14}|[0-9a-fA-F]{64})$"
SURVEYCAKE_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"

MAAC_MEMBER_ALIASES = {
    "maac_member_line_uid": "the respondent's LINE user id",
    "maac_member_name": "the respondent's name",
    "maac_member_mobile": "the respondent's mobile phone number",
    "maac_member_birthday": "the respondent's birthday",
    "maac_member_customer_id": "the respondent's customer id in the brand's system",
    "maac_member_email": "the respondent's email address",
    "maac_member_gender": "the respondent's gender: 'male', 'female' or 'unknown'",
}


def receipt_validated() -> Properties:
    item = record(
        "One line item of the receipt.",
        {
            "description": text("Item name as printed on the receipt."),
            "unit_price": number("Price of one unit, in TWD (a float, e.g. 65.0)."),
            "quantity": number("Number of units bought (a float, e.g. 2.0)."),
            "amount": number("Line total, in TWD (a float, e.g. 130.0)."),
        },
    )
    return {
        "line_uid": line_uid(),
        "customer_id": customer_id(),
        "campaign_name": text(
            "Name of the receipt campaign the receipt was validated for; null when unnamed.",
            nullable=True,
        ),
        "number": text("Receipt (uniform invoice) number, e.g. two letters and 8 digits."),
        "datetime": text("Transaction time printed on the receipt (ISO-8601).", format="date-time"),
        "upload_datetime": text(
            "When the LINE friend uploaded the receipt (ISO-8601).", format="date-time"
        ),
        "random_number": text(
            "The 4-digit random code printed on the receipt.", pattern=r"^[0-9]{4}$"
        ),
        "channel": text("Store or purchase channel that issued the receipt."),
        "items": {
            "type": "array",
            "items": item,
            "description": (
                "Receipt line items. MAAC sends only the data that matched the campaign's "
                "conditions, so this need not be the whole receipt."
            ),
        },
    }


def _survey_question() -> dict[str, Any]:
    return record(
        "The answer to one question of the survey.",
        {
            "subject": text("The question text."),
            "type": text(
                "SurveyCake question type, e.g. TXTSHORT, TXTLONG, CHOICEONE, CHOICEMULTI, "
                "DATEPICKER."
            ),
            "sn": number("Question number within the survey."),
            "label": text("The question's label in SurveyCake."),
            "alias": text(
                "The alias marketing set on the question ('Alias and Default'); empty when none."
            ),
            "answer": strings("The answers given, as text."),
            "otherAnswer": strings("Free text typed into an 'other' option."),
            "answerLabel": strings("Labels of the chosen options."),
            "answerAlias": strings("Aliases of the chosen options, e.g. 'male' for gender."),
        },
    )


def _survey_answer() -> dict[str, Any]:
    alias = {
        "type": "object",
        "description": (
            "Answers keyed by question alias, for every question that has one, so code can "
            "read answers by stable keys instead of question text. Keys starting with "
            "'maac_member_' are the MAAC member fields."
        ),
        "properties": {
            key: strings(f"Answers to the question aliased '{key}': {meaning}.")
            for key, meaning in MAAC_MEMBER_ALIASES.items()
        },
        "additionalProperties": strings("Answers to the question with this alias."),
    }
    meta = {
        "type": "object",
        "description": (
            'SurveyCake submission metadata, e.g. {"isolated": {"status": false, "type": null}}.'
        ),
    }
    return record(
        # MAAC's field table says array, but its example, and what it sends, is an object.
        "The SurveyCake submission, as SurveyCake reports it.",
        {
            "id": number("SurveyCake's id of this submission."),
            "svid": text("SurveyCake survey id."),
            "title": text("Survey title in SurveyCake."),
            "status": text("Submission status in SurveyCake, e.g. FINISH."),
            "submitTime": text(
                "Submission time, 'YYYY-MM-DD HH:MM:SS' in the survey's local time.",
                pattern=SURVEYCAKE_TIME_PATTERN,
            ),
            "mbunq": text(
                "SurveyCake member key of the respondent; null when the survey has no members.",
                nullable=True,
            ),
            "mbrid": text(
                "SurveyCake member record id of the respondent; null when the survey has no "
                "members.",
                nullable=True,
            ),
            "meta": meta,
            "alias": alias,
            "result": {
                "type": "array",
                "items": _survey_question(),
                "description": "One entry per question, in survey order.",
            },
        },
    )


def surveycake_submitted() -> Properties:
    return {
        "line_uid": line_uid(),
        "customer_id": customer_id(),
        "survey_name": text(
            "Name of the survey as linked in MAAC; null when unnamed.", nullable=True
        ),
        "answer_hash": text(
            "Hash of the answer content; use it to find this submission in SurveyCake's logs."
        ),
        "answer": _survey_answer(),
    }


def pnp_status_updated() -> Properties:
    return {
        "pnp_setting_id": number("Id of the LINE notification message (PNP) setting in MAAC."),
        "pnp_setting_name": text("Name of the PNP setting in MAAC."),
        "pnp_message_id": number("Id of this notification message in MAAC."),
        "event_id": number("Id of the MAAC message event the send was recorded under."),
        "customized_id": text(
            "The sender's own id for this message, as given in the send request; null when "
            "none was given.",
            nullable=True,
        ),
        "phone_number": text(
            "Recipient phone number in E.164 form (e.g. +886912345678), or its SHA-256 hex "
            "digest when the send request used a hashed number.",
            pattern=PHONE_OR_HASH_PATTERN,
        ),
        "status": choice(
            "The new overall status; its prefix names the channel it happened on "
            "(line_push, pnp or sms).",
            PNP_STATUSES,
        ),
        "line_push_template_id": number(
            "Id of the LINE push template used; null when no LINE push was tried.",
            nullable=True,
        ),
        "line_push_status": text(
            "Status of the LINE push attempt; null when none was made.", nullable=True
        ),
        "line_push_delivered_at": text(
            "When the LINE push was delivered; null when it was not.", nullable=True
        ),
        "line_push_error_category": choice(
            "Why the LINE push failed; null when it did not fail.",
            LINE_PUSH_ERROR_CATEGORIES,
            nullable=True,
        ),
        "pnp_status": text("Status of the PNP attempt; null when none was made.", nullable=True),
        "pnp_delivered_at": text(
            "When the PNP message was delivered; null when it was not.", nullable=True
        ),
        "sms_status": text(
            "Status of the SMS fallback attempt; null when none was made.", nullable=True
        ),
        "sms_delivered_at": text(
            "When the SMS was delivered; null when it was not.", nullable=True
        ),
        "sms_error_category": choice(
            "Why the SMS failed; null when it did not fail.",
            SMS_ERROR_CATEGORIES,
            nullable=True,
        ),
    }


def pnp_profile_updated() -> Properties:
    return {
        "pnp_setting_id": number("Id of the PNP setting whose flow bound the number."),
        "pnp_setting_name": text("Name of the PNP setting in MAAC."),
        "phone_number": text("The phone number that got bound, e.g. +886912345678."),
        "source": choice("The flow that bound the number: PNP or SMS.", PROFILE_SOURCES),
        "line_uid": line_uid(),
        "customer_id": customer_id(),
    }


def prize_points_added() -> Properties:
    return {
        "prize_name": text("Name of the prize that granted the points."),
        "points_id": text(
            "Id of the points request; a repeat of the same request carries the same id, so "
            "use it to avoid adding points twice."
        ),
        "points_category": text("Category of the points; null when none.", nullable=True),
        "line_uid": line_uid(),
        "customer_id": customer_id(nullable=False),
        "points_memo": text("Memo attached to the points request."),
        "points_count": number("Number of points added."),
        "points_expire_date": text(
            "When the points expire (ISO-8601); null when they do not.",
            nullable=True,
            format="date-time",
        ),
    }


def message_first_open() -> Properties:
    return {
        "message_type": choice(
            "What kind of message was opened: a MAAC broadcast or an Open API push.",
            MESSAGE_TYPES,
        ),
        "message_id": number(
            "Id of the opened message; for 'openapi' this is the push's event_id."
        ),
        "line_uid": line_uid(),
        "customer_id": customer_id(),
    }
