"""What the FastAPI, Flask and Django helpers share, so they answer alike.

A helper may be given the secret itself or a function returning it: a function is read
on every request, so a secret loaded from settings or rotated at run time is picked up
without rebuilding the route.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeAlias

from hookline.receiver import Event, HeadersLike, Scheme, SecretArg, verify_and_parse
from hookline.receiver._verify import DEFAULT_TOLERANCE

SecretSource: TypeAlias = SecretArg | Callable[[], SecretArg]

EVENT_ATTRIBUTE = "hookline_event"
"""Where the helpers also leave the event: ``flask.g`` and Django's ``request``."""


@dataclass(frozen=True)
class Checker:
    """The options given to a helper, applied to each request."""

    secret: SecretSource
    tolerance: float = DEFAULT_TOLERANCE
    schemes: Collection[Scheme] | None = None

    def __call__(self, body: bytes, headers: HeadersLike) -> Event:
        secret = self.secret() if callable(self.secret) else self.secret
        return verify_and_parse(
            body, headers, secret, tolerance=self.tolerance, schemes=self.schemes
        )
