"""The pure rules that decide a webhook's fate and a zone's use, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hookline.domain.deliveries import (
    AttemptResult,
    AttemptTrigger,
    DeliveryState,
    ErrorClass,
    Settlement,
)
from hookline.domain.models import ZonePurchase
from hookline.domain.settlement import attempt_of, failing_too_long, health_of
from hookline.domain.zones import ZoneValidity, zone_validity

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def settled(webhook_id: str, status: int, state: DeliveryState) -> Settlement:
    result = AttemptResult(
        status, 1.0, "", None if status < 300 else ErrorClass.HTTP_STATUS, None, None
    )
    return Settlement(
        delivery_id=f"dlv_{webhook_id}_{status}",
        webhook_id=webhook_id,
        attempt=attempt_of(result, 1, AttemptTrigger.WORKER, NOW),
        state=state,
        next_attempt_at=None,
    )


def test_one_success_in_a_batch_makes_a_webhook_healthy_and_410_marks_it_gone() -> None:
    health = health_of(
        [
            settled("wh_mixed", 500, DeliveryState.PENDING),
            settled("wh_mixed", 200, DeliveryState.DELIVERED),
            settled("wh_down", 500, DeliveryState.PENDING),
            settled("wh_gone", 410, DeliveryState.FAILED),
        ]
    )
    assert health.healthy == ["wh_mixed"]
    assert health.failing == ["wh_down", "wh_gone"]
    assert health.gone == ["wh_gone"]


def test_a_webhook_stops_as_failing_once_its_failing_period_is_reached() -> None:
    period = timedelta(days=5)
    since = {"wh_long": NOW - period, "wh_short": NOW - period + timedelta(seconds=1)}
    assert failing_too_long(since, NOW, period) == ["wh_long"]


def test_a_zone_is_valid_only_while_purchased_and_not_expired() -> None:
    assert zone_validity(None, NOW) is ZoneValidity.NOT_PURCHASED
    assert zone_validity(ZonePurchase(1, NOW), NOW) is ZoneValidity.EXPIRED
    later = ZonePurchase(1, NOW + timedelta(seconds=1))
    assert zone_validity(later, NOW) is ZoneValidity.VALID
