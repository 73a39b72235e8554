"""The SMTP server alert emails go through, read from one URL.

``HOOKLINE_SMTP_URL`` is ``smtp://[user:pass@]host[:port][?starttls=true]`` (port 25
by default, STARTTLS when asked) or ``smtps://...`` (TLS from the first byte, port 465).
A URL that cannot be read stops the start (the settings check it with
``parse_smtp_url``), not the first alert an hour later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)  # never in a log line
    starttls: bool
    implicit_tls: bool
    sender: str
    timeout: float = 30.0


def parse_smtp_url(url: str, sender: str) -> SmtpSettings:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("HOOKLINE_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("HOOKLINE_SMTP_URL has no host")
    if not sender or "@" not in sender:
        raise ValueError(
            "HOOKLINE_SMTP_FROM must be an email address when HOOKLINE_SMTP_URL is set"
        )
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    implicit = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls=query.get("starttls", "false") in TRUE,
        implicit_tls=implicit,
        sender=sender,
    )
