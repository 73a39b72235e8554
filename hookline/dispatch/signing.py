"""One attempt of a due delivery: signed with its webhook's secrets, sent once.

Secrets are opened once per ciphertext and kept for the worker's lifetime: opening
(Fernet) costs far more than signing, and the same few secrets sign every delivery.
A webhook's extra headers (sealed the same way) are opened and cached alike: the
claim already read their ciphertext with the delivery, so a send costs no query and,
after the first, no decryption. A changed header set is a new ciphertext, a new entry.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from hookline.dispatch.ports import Transport
from hookline.domain import wire
from hookline.domain.deliveries import AttemptResult, DueDelivery, ErrorClass, Outgoing
from hookline.domain.errors import SecretUnreadable

log = logging.getLogger(__name__)
MAX_CACHED = 10_000


class SignedAttempts:
    """Signs with the secrets ``decrypt`` opens and sends through ``sender``."""

    def __init__(self, sender: Transport, decrypt: Callable[[str], str]) -> None:
        self._sender = sender
        self._decrypt = decrypt
        self._secrets: dict[str, str] = {}
        self._headers: dict[str, Mapping[str, str]] = {}

    def _secret(self, ciphertext: str) -> str:
        secret = self._secrets.get(ciphertext)
        if secret is None:
            secret = self._secrets[ciphertext] = self._decrypt(ciphertext)
        return secret

    def _extra_headers(self, sealed: str | None) -> Mapping[str, str]:
        if not sealed:
            return {}
        headers = self._headers.get(sealed)
        if headers is None:
            if len(self._headers) >= MAX_CACHED:
                self._headers.clear()
            headers = self._headers[sealed] = json.loads(self._decrypt(sealed))
        return headers

    async def attempt(self, due: DueDelivery, started_at: datetime) -> AttemptResult:
        """One signed send; a secret the key cannot open fails the attempt, unsent.

        Retrying would not help (the key is wrong until an operator acts), and raising
        would leave the delivery in flight, re-claimed every lease for ever: the attempt
        is recorded as ``secret_unreadable`` and settles like any unretried failure.
        """
        try:
            secrets = [self._secret(c) for c in due.secret_ciphertexts]
            extra = self._extra_headers(due.headers_sealed)
        except SecretUnreadable as exc:
            log.error("delivery %s of webhook %s fails unsent: %s", due.id, due.webhook_id, exc)
            return AttemptResult(
                status_code=None,
                latency_ms=0.0,
                response_body="",
                error=ErrorClass.SECRET_UNREADABLE,
                error_detail=exc.message,
                retry_after=None,
            )
        signed = wire.delivery_headers(
            secrets=secrets,
            idempotency_key=due.idempotency_key,
            body=due.body,
            sent_at=started_at,
        )
        headers = {**extra, **signed} if extra else signed  # ours win (names are checked too)
        send_by = None  # the worker's clock may be a test's: carried over as time left
        if due.send_by is not None:
            send_by = time.monotonic() + (due.send_by - started_at).total_seconds()
        return await self._sender.send(
            Outgoing(
                url=due.url,
                body=due.body,
                headers=headers,
                timeout_seconds=due.timeout_seconds,
                send_by=send_by,
            )
        )
