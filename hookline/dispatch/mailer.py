"""Alert emails over SMTP (``aiosmtplib``); the settings are ``domain.smtp``'s."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from hookline.domain.smtp import SmtpSettings


class Mailer:
    """Sends one plain-text email per call; a failure raises (the caller retries)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def message(self, to: str, subject: str, body: str, message_key: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(idstring=message_key[:60])
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        return message

    async def send(self, to: str, subject: str, body: str, message_key: str) -> None:
        s = self.settings
        await aiosmtplib.send(
            self.message(to, subject, body, message_key),
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password,
            start_tls=s.starttls,
            use_tls=s.implicit_tls,
            timeout=s.timeout,
        )
