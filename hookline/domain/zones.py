"""Whether a platform may use a zone's topics now: the one rule every page and use case reads."""

from __future__ import annotations

import enum
from datetime import datetime

from hookline.domain.models import ZonePurchase


class ZoneValidity(enum.StrEnum):
    VALID = "valid"
    NOT_PURCHASED = "not_purchased"
    EXPIRED = "expired"


def zone_validity(purchase: ZonePurchase | None, now: datetime) -> ZoneValidity:
    """A webhook only works while the zone of each of its topics is purchased and valid."""
    if purchase is None:
        return ZoneValidity.NOT_PURCHASED
    if not purchase.is_valid(now):
        return ZoneValidity.EXPIRED
    return ZoneValidity.VALID
