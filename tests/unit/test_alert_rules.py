"""The pure rules of alerts and framing: warnings, retries, texts, settings parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr, ValidationError

from hookline.config import Settings
from hookline.dispatch.mailer import Mailer
from hookline.domain import incidents
from hookline.domain.alert_texts import BODIES, LANGUAGES, SUBJECTS, email_text
from hookline.domain.framing import parse_frame_ancestors
from hookline.domain.incidents import Kind
from hookline.domain.smtp import parse_smtp_url

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("left", "warning"),
    [
        (timedelta(days=8), None),
        (timedelta(days=7), timedelta(days=7)),
        (timedelta(days=2), timedelta(days=7)),
        (timedelta(hours=23), timedelta(days=1)),
        (timedelta(0), None),
        (-timedelta(hours=1), None),
    ],
)
def test_a_zone_gets_the_shortest_warning_it_is_inside(
    left: timedelta, warning: timedelta | None
) -> None:
    assert incidents.zone_warning(NOW, NOW + left) == warning


def test_an_incidents_key_depends_only_on_the_state_that_caused_it() -> None:
    hook = {"webhook_id": "wh_1", "webhook_name": "CRM", "url": "https://crm.example.com/h"}
    since = NOW - timedelta(hours=1)
    assert incidents.failing("p", hook, since) == incidents.failing("p", hook, since)
    assert (
        incidents.failing("p", hook, since).dedup_key != incidents.failing("p", hook, NOW).dedup_key
    )
    warned = incidents.zone_expiring("p", 1, NOW, timedelta(days=7))
    assert warned.dedup_key != incidents.zone_expiring("p", 1, NOW, timedelta(days=1)).dedup_key


def test_failed_sends_back_off_then_give_up() -> None:
    delays = [incidents.next_try(n, NOW) for n in range(1, incidents.SEND_GIVE_UP + 1)]
    waits = [(d - NOW).total_seconds() for d in delays if d is not None]
    assert waits[:3] == [10, 30, 60] and waits == sorted(waits)
    assert delays[-1] is None and len(waits) == incidents.SEND_GIVE_UP - 1


def test_the_operational_body_is_standard_webhooks_shaped() -> None:
    body = json.loads(incidents.operational_body("webhook.failing", "inc_1", "p", {"a": 1}, NOW))
    assert body == {
        "type": "webhook.failing",
        "timestamp": "2026-11-30T04:00:00.000000+00:00",
        "data": {"incident_id": "inc_1", "platform_id": "p", "a": 1},
    }


def test_every_kind_has_its_email_in_both_languages() -> None:
    for lang in LANGUAGES:
        assert set(SUBJECTS[lang]) == set(Kind) == set(BODIES[lang])
    data = {
        "webhook_id": "wh_1",
        "webhook_name": "CRM {x}",  # a brace in a user's name is text, not a field
        "url": "https://crm.example.com/h",
        "failing_since": "2026-11-30T03:00:00+00:00",
        "stop_reason": "failing",
        "stopped_at": "2026-11-30T04:00:00+00:00",
        "zone": 2,
        "valid_until": "2026-12-07T00:00:00+00:00",
        "days_left": 7,
    }
    for kind in Kind:
        subject, body = email_text(kind, data, "Coffee", "zh-TW")
        assert "Coffee" in body and "{" not in subject.replace("{x}", "")
    assert email_text(Kind.STOPPED, data, "Coffee", None)[1].count("every attempt failed") == 1
    assert email_text(Kind.FAILING, data, "Coffee", "fr") == email_text(
        Kind.FAILING, data, "Coffee", "en"
    )


def test_smtp_urls() -> None:
    s = parse_smtp_url("smtp://user:p%40ss@mail.example.com:587?starttls=true", "a@b.c")
    assert (s.host, s.port, s.username, s.password, s.starttls, s.implicit_tls) == (
        "mail.example.com",
        587,
        "user",
        "p@ss",
        True,
        False,
    )
    assert "p@ss" not in repr(s)
    tls = parse_smtp_url("smtps://mail.example.com", "a@b.c")
    assert (tls.port, tls.implicit_tls, tls.starttls, tls.username) == (465, True, False, None)
    assert parse_smtp_url("smtp://mail.example.com", "a@b.c").port == 25


def test_an_email_names_its_sender_and_is_marked_automatic() -> None:
    mailer = Mailer(parse_smtp_url("smtp://mail.example.com", "alerts@hookline.example"))
    message = mailer.message("mia@coffee.example", "主旨", "內文", "inc_1")
    assert message["From"] == "alerts@hookline.example"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "inc_1" in message["Message-ID"]


def test_frame_ancestors_are_origins() -> None:
    assert parse_frame_ancestors("https://App.example.com, http://127.0.0.1:8123") == (
        "https://app.example.com",
        "http://127.0.0.1:8123",
    )
    assert parse_frame_ancestors("https://*.example.com") == ("https://*.example.com",)
    assert parse_frame_ancestors("") == ()


@pytest.mark.parametrize(
    "value", ["*", "'self'", "https://a.example.com/path", "https://a.example.com;script-src *"]
)
def test_a_frame_ancestor_that_is_not_an_origin_stops_the_start(value: str) -> None:
    with pytest.raises(ValidationError, match="HOOKLINE_FRAME_ANCESTORS"):
        Settings(frame_ancestors=value)


def test_an_unreadable_smtp_url_stops_the_start() -> None:
    with pytest.raises(ValidationError, match="HOOKLINE_SMTP"):
        Settings(smtp_url=SecretStr("http://mail.example.com"), smtp_from="a@b.c")
    with pytest.raises(ValidationError, match="HOOKLINE_SMTP_FROM"):
        Settings(smtp_url=SecretStr("smtp://mail.example.com:587?starttls=true"))
    ok = Settings(smtp_url=SecretStr("smtp://u:p%40ss@mail.example.com:587"), smtp_from="a@b.c")
    assert ok.smtp_url is not None
