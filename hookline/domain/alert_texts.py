# ruff: noqa: RUF001 - Chinese text uses full-width punctuation, as the dashboard does
"""The alert emails' words, in English and Traditional Chinese.

They live in the domain, not with the dashboard's translations, because the worker
sends them and the worker side loads no web package. Every kind has both languages
(a unit test checks), and values inserted are plain text: the email is text/plain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookline.domain.incidents import Kind

LANGUAGES = ("en", "zh-TW")
DEFAULT_LANGUAGE = "en"

SUBJECTS: dict[str, dict[Kind, str]] = {
    "en": {
        Kind.FAILING: "Webhook “{webhook_name}” is failing",
        Kind.RECOVERED: "Webhook “{webhook_name}” delivers again",
        Kind.STOPPED: "Webhook “{webhook_name}” was stopped",
        Kind.ZONE_EXPIRING: "Zone {zone} ends in {days_left} day(s)",
    },
    "zh-TW": {
        Kind.FAILING: "Webhook「{webhook_name}」傳送失敗中",
        Kind.RECOVERED: "Webhook「{webhook_name}」已恢復傳送",
        Kind.STOPPED: "Webhook「{webhook_name}」已被停用",
        Kind.ZONE_EXPIRING: "區域 {zone} 將於 {days_left} 天後到期",
    },
}

BODIES: dict[str, dict[Kind, str]] = {
    "en": {
        Kind.FAILING: (
            "Deliveries to “{webhook_name}” ({url}) have been failing since {failing_since}"
            " (UTC). Events are retried; if every attempt keeps failing, the webhook will"
            " be stopped. Check that the receiver is up and answers 2xx."
        ),
        Kind.RECOVERED: (
            "“{webhook_name}” ({url}) answered successfully again after failing since"
            " {failing_since} (UTC). Nothing more to do."
        ),
        Kind.STOPPED: (
            "“{webhook_name}” ({url}) was stopped at {stopped_at} (UTC): {reason}. No"
            " more events are sent to it until someone resumes it in the dashboard."
        ),
        Kind.ZONE_EXPIRING: (
            "The purchase of zone {zone} is valid until {valid_until} (UTC). After that,"
            " the webhooks of its topics stop receiving events. Renew it with your"
            " operator in time."
        ),
    },
    "zh-TW": {
        Kind.FAILING: (
            "傳送到「{webhook_name}」（{url}）的事件自 {failing_since}（UTC）起持續失敗。"
            "系統會重試；若每次都失敗，此 Webhook 將被停用。請確認接收端正常運作並回應 2xx。"
        ),
        Kind.RECOVERED: (
            "「{webhook_name}」（{url}）自 {failing_since}（UTC）起的失敗已結束，"
            "現在已能成功接收。無需其他動作。"
        ),
        Kind.STOPPED: (
            "「{webhook_name}」（{url}）已於 {stopped_at}（UTC）停用：{reason}。"
            "在有人於管理後台重新啟用前，不會再傳送任何事件。"
        ),
        Kind.ZONE_EXPIRING: (
            "區域 {zone} 的購買效期至 {valid_until}（UTC）。到期後，該區域主題的 Webhook"
            " 將不再收到事件。請及早與管理者續約。"
        ),
    },
}

REASONS = {
    "en": {
        "gone": "the receiver answered 410 Gone",
        "failing": "every attempt failed for too long",
    },
    "zh-TW": {"gone": "接收端回應 410 Gone", "failing": "所有傳送嘗試失敗太久"},
}

FOOTER = {
    "en": (
        "\n\nPlatform: {platform_name}\n\nYou receive this because email alerts are on for"
        " your dashboard account; turn them off under Settings in the dashboard."
    ),
    "zh-TW": (
        "\n\n平台：{platform_name}\n\n您收到此信是因為帳號開啟了電子郵件通知；"
        "可在管理後台的「設定」中關閉。"
    ),
}


def language_of(preferred: str | None) -> str:
    return preferred if preferred in LANGUAGES else DEFAULT_LANGUAGE


def email_text(
    kind: Kind, data: Mapping[str, Any], platform_name: str, language: str | None
) -> tuple[str, str]:
    """The subject and plain-text body of one incident's email in ``language``."""
    lang = language_of(language)
    values = {k: str(v) for k, v in data.items()}
    values["platform_name"] = platform_name
    reason = str(data.get("stop_reason", ""))
    values["reason"] = REASONS[lang].get(reason, reason)
    subject = SUBJECTS[lang][kind].format_map(values)
    body = BODIES[lang][kind].format_map(values) + FOOTER[lang].format_map(values)
    return subject, body
