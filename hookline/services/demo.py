"""The demo platform that ``hookline serve --demo`` seeds once and prints on every start.

Tokens are stored hashed, so the demo's own token is kept in the data dir (mode 0600)
to be printed again on the next ``make run``. This is for a local trial only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from hookline.catalog import ZONES
from hookline.domain.errors import PlatformNotFound
from hookline.domain.secrets import (
    INGEST_TOKEN_PREFIX,
    OPERATOR_TOKEN_PREFIX,
    generate_token,
)
from hookline.services import platforms
from hookline.services.context import Context

DEMO_PLATFORM_NAME = "Demo platform"
LOOPBACK_NETWORKS = "127.0.0.0/8,::1/128"


@dataclass(frozen=True)
class DemoCredentials:
    platform_id: str
    api_token: str
    operator_token: str
    ingest_token: str


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _save(path: Path, creds: DemoCredentials) -> None:
    _write_private(
        path,
        json.dumps(
            {
                "platform_id": creds.platform_id,
                "api_token": creds.api_token,
                "operator_token": creds.operator_token,
                "ingest_token": creds.ingest_token,
            }
        ),
    )


def ensure_demo(
    ctx: Context, data_dir: Path, operator_token: str | None, ingest_token: str | None = None
) -> DemoCredentials:
    """Seed the demo platform on first start; afterwards read back what was seeded."""
    path = data_dir / "demo-credentials.json"
    if path.exists():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            platforms.get_platform(ctx, saved["platform_id"])
            creds = DemoCredentials(
                platform_id=saved["platform_id"],
                api_token=saved["api_token"],
                operator_token=operator_token or saved["operator_token"],
                ingest_token=ingest_token
                or saved.get("ingest_token")
                or generate_token(INGEST_TOKEN_PREFIX),
            )
            if "ingest_token" not in saved:  # a file written before ingest existed
                _save(path, creds)
            return creds
        except (PlatformNotFound, KeyError, TypeError, ValueError):
            path.unlink()  # the database was reset under the file, or it is damaged: seed again
    created = platforms.create_platform(ctx, DEMO_PLATFORM_NAME)
    until = ctx.clock() + timedelta(days=365)
    for zone in ZONES:
        platforms.set_zone(ctx, created.platform.id, zone, until)
    creds = DemoCredentials(
        platform_id=created.platform.id,
        api_token=created.api_token,
        operator_token=operator_token or generate_token(OPERATOR_TOKEN_PREFIX),
        ingest_token=ingest_token or generate_token(INGEST_TOKEN_PREFIX),
    )
    _save(path, creds)
    return creds
