"""``serve --demo``'s LINE: the fake LINE server, so the Open API works without LINE.

Started in the serve process (a daemon thread on loopback) unless the environment
already names a LINE API (``HOOKLINE_LINE_API_BASE``). Pushes go to it, tracking URLs
point back at this server, and ``POST /fake/pushes/<n>/open`` on it opens a push as a
LINE app would (docs/openapi.md).
"""

from __future__ import annotations

import os

from hookline.config import Settings
from hookline.devtools.fake_line import FakeLine


def start_demo_line(settings: Settings, host: str, port: int) -> tuple[Settings, FakeLine | None]:
    """The settings pointing at a started fake LINE (or unchanged, and None)."""
    public = os.environ.get("HOOKLINE_PUBLIC_URL") or f"http://{host}:{port}"
    if os.environ.get("HOOKLINE_LINE_API_BASE"):
        return settings.model_copy(update={"public_url": public}), None
    line = FakeLine().start()
    update = {"line_api_base": line.base_url, "public_url": public}
    return settings.model_copy(update=update), line


def describe(line: FakeLine | None) -> list[str]:
    """Lines for the demo's panel: what to connect, and how to open a push."""
    if line is None:
        return []
    return [
        f"Fake LINE:       {line.base_url}",
        f"LINE token:      {line.channel_token}",
        f"Sample image:    {line.image_url()}",
        f"Open a push:     curl -X POST {line.base_url}/fake/pushes/0/open",
    ]
