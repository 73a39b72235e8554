"""What became of an event, from its deliveries' states: one word for a log and a filter."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from hookline.domain.deliveries import DeliveryState


class EventOutcome(enum.StrEnum):
    DELIVERED = "delivered"
    """Every delivery was delivered."""
    FAILED = "failed"
    """At least one delivery failed for good."""
    PENDING = "pending"
    """None failed, and at least one is still waiting or being sent."""
    UNROUTED = "unrouted"
    """No webhook listened to its topic: nothing was sent."""


UNSETTLED = frozenset({DeliveryState.PENDING, DeliveryState.IN_FLIGHT})


def outcome_of(states: Iterable[DeliveryState]) -> EventOutcome:
    """``failed`` wins over ``pending``: an operator looks for what needs action first.

    A cancelled delivery (its webhook deleted) neither failed nor delivered: an event
    with only those reads as delivered, as nothing is left to do for it.
    """
    seen = set(states)
    if not seen:
        return EventOutcome.UNROUTED
    if DeliveryState.FAILED in seen:
        return EventOutcome.FAILED
    if seen & UNSETTLED:
        return EventOutcome.PENDING
    return EventOutcome.DELIVERED
