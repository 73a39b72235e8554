"""Which origins may frame the dashboard (``HOOKLINE_FRAME_ANCESTORS``).

An operator embedding the dashboard in their own product names their origins; each
goes verbatim into the CSP ``frame-ancestors`` directive, so each must be exactly an
origin (scheme, host, optional port): anything else (a path, a quote, a semicolon, a
bare ``*``) could widen the policy or inject another directive, and stops the start.
"""

from __future__ import annotations

import re

ORIGIN = re.compile(
    r"^https?://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$"
)


def parse_frame_ancestors(value: str) -> tuple[str, ...]:
    """The origins listed (space or comma separated, lower-cased); ValueError names a bad one."""
    origins = tuple(o.lower() for o in value.replace(",", " ").split())
    for origin in origins:
        if not ORIGIN.match(origin):
            raise ValueError(
                f"HOOKLINE_FRAME_ANCESTORS: {origin!r} is not an origin like"
                " https://app.example.com or http://127.0.0.1:8080 (no path, no quotes)"
            )
    return origins
