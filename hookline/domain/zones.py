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


ZONES: tuple[int, ...] = (1, 2, 3)
"""Every zone a platform can purchase: 1 and 2 hold webhook topics (``catalog``), 3 is
the Open API push with parameters (``/openapi/v1/direct_message/push/``)."""

OPENAPI_PUSH_ZONE = 3
ZONE_TITLES = {
    1: "Webhooks: receipts, forms, PNP, points",
    2: "Webhooks: message first open",
    3: "Open API push with parameters",
}
