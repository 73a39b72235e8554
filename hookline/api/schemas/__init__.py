"""Request and response bodies of the API, one module per resource (they make the
OpenAPI document); ``common`` holds the shared text and time types.

The names are also importable from here, so a router may say either
``from hookline.api.schemas import WebhookOut`` or name the resource module.
"""

from hookline.api.schemas.admin import (
    PlatformCreate,
    PlatformCreated,
    PlatformPatch,
    TokenCreated,
    UserCreate,
    UserOut,
    ZoneSet,
)
from hookline.api.schemas.common import Moment, SafeText, Strict, UnicodeText
from hookline.api.schemas.deliveries import (
    AttemptOut,
    DeliveryDetail,
    DeliveryList,
    DeliveryOut,
    EventOut,
    RecoverIn,
    RecoverOut,
    SendResult,
)
from hookline.api.schemas.ingest import Accepted, BatchIn, BatchItem, BatchOut, EventIn
from hookline.api.schemas.platform import (
    PlatformDetail,
    PlatformOut,
    PlatformSettings,
    TopicOut,
    ZoneOut,
)
from hookline.api.schemas.webhooks import (
    SecretOut,
    SecretRotate,
    TestIn,
    WebhookCreate,
    WebhookList,
    WebhookOut,
    WebhookPatch,
)

__all__ = [
    "Accepted",
    "AttemptOut",
    "BatchIn",
    "BatchItem",
    "BatchOut",
    "DeliveryDetail",
    "DeliveryList",
    "DeliveryOut",
    "EventIn",
    "EventOut",
    "Moment",
    "PlatformCreate",
    "PlatformCreated",
    "PlatformDetail",
    "PlatformOut",
    "PlatformPatch",
    "PlatformSettings",
    "RecoverIn",
    "RecoverOut",
    "SafeText",
    "SecretOut",
    "SecretRotate",
    "SendResult",
    "Strict",
    "TestIn",
    "TokenCreated",
    "TopicOut",
    "UnicodeText",
    "UserCreate",
    "UserOut",
    "WebhookCreate",
    "WebhookList",
    "WebhookOut",
    "WebhookPatch",
    "ZoneOut",
    "ZoneSet",
]
