"""The Open API's objects and errors: message events, pushes and what they may hold."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hookline.domain.errors import HooklineError, NotFound

MAX_EVENTS_PER_PLATFORM = 1000
EVENT_PAGE_SIZE = 300
LINE_UID = re.compile(r"U[0-9a-f]{32}")
MAX_CHANNEL_TOKEN = 1000
IMAGEMAP_SIZES = frozenset({"240", "300", "460", "700", "1040"})
"""The widths LINE clients append to an imagemap's ``baseUrl`` (LINE's documentation)."""
CLICK_SCHEMES = ("https://", "http://", "line://", "tel:")
"""What LINE's URI action accepts; a click redirect goes nowhere else."""


class PushResult:
    SUCCESS = "success"
    TIMEOUT = "timeout"
    ERROR = "error"
    REFUSED = "refused"  # LINE answered 4xx: the API relays its message instead


@dataclass(frozen=True)
class LinePushOutcome:
    """What LINE answered a push: a result word, and LINE's message when it refused."""

    result: str
    message: str | None = None
    details: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class FetchedImage:
    content_type: str
    body: bytes


class TemplateNotFound(NotFound):
    code = "template_not_found"


class MessageEventNotFound(NotFound):
    code = "message_event_not_found"


class TrackingNotFound(NotFound):
    code = "tracking_not_found"


class EventLimitReached(HooklineError):
    code = "event_limit_reached"


class LineChannelMissing(HooklineError):
    code = "line_channel_missing"


class RateLimited(HooklineError):
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many requests: at most 170 a second. Try again in {retry_after} s.",
            retry_after=retry_after,
        )
        self.retry_after = retry_after
