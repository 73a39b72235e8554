"""The alerts pass: find new incidents, then tell each one's people, once.

It runs beside each worker (``runner.run_worker``), every ``interval`` seconds, and is
safe with any number of workers on one database: incidents are recorded under a
unique key (``store.incidents``) and every send is claimed before it is tried
(``store.alert_sends``). Email goes through ``Mailer``; the operator's operational
webhook through the worker's own ``Sender`` (its SSRF guard included), signed like
any delivery. A failed send is tried again later (``domain.incidents.next_try``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from hookline.dispatch.mailer import Mailer
from hookline.dispatch.ports import Transport
from hookline.domain import wire
from hookline.domain.alert_texts import email_text
from hookline.domain.deliveries import Outgoing
from hookline.domain.incidents import (
    KEEP_FOR,
    Channel,
    SendState,
    next_try,
    operational_body,
)
from hookline.store import Database
from hookline.store import alert_sends as sends
from hookline.store import incidents as found

log = logging.getLogger(__name__)
PURGE_EVERY = timedelta(hours=1)


class Alerts:
    def __init__(
        self,
        db: Database,
        *,
        transport: Transport,
        decrypt: Callable[[str], str],
        clock: Callable[[], datetime],
        mailer: Mailer | None = None,
        interval: float = 15.0,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 50,
    ) -> None:
        self.db = db
        self.transport = transport
        self.decrypt = decrypt
        self.clock = clock
        self.mailer = mailer
        self.interval = interval
        self.lease = lease
        self.batch = batch
        self._failing = False
        self._next_purge: datetime | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Passes until ``stop``; a failed pass is logged once per streak, never fatal."""
        while not stop.is_set():
            try:
                await self.once()
            except Exception:
                if not self._failing:
                    log.exception("alerts: a pass failed; trying again every %gs", self.interval)
                self._failing = True
            else:
                self._failing = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)

    async def once(self) -> None:
        await asyncio.to_thread(self.detect)
        if self._next_purge is None or self.clock() >= self._next_purge:
            self._next_purge = self.clock() + PURGE_EVERY
            await asyncio.to_thread(self._purge)
        due = await asyncio.to_thread(self._claim)
        await asyncio.gather(*(self._tell(send) for send in due))

    def detect(self) -> list[str]:
        """Record what is new; the ids of incidents this call recorded."""
        now = self.clock()
        with self.db.read() as conn:
            open_rows = found.open_webhook_incidents(conn)
            over, recoveries = found.settle_open(open_rows)
            news = [
                *recoveries,
                *found.stopped_now(conn, now),
                *found.failing_now(conn, now),
                *found.zones_expiring(conn, now),
            ]
            news = found.unknown(conn, news)
        if not over and not news:
            return []
        recorded = []
        with self.db.write() as conn:
            found.resolve(conn, over, now)
            for incident in news:
                incident_id = found.record(conn, incident, now)
                if incident_id is not None:
                    recorded.append(incident_id)
                    log.info("alerts: %s (%s)", incident.kind, incident.dedup_key)
        return recorded

    def _purge(self) -> int:
        with self.db.write() as conn:
            return found.purge(conn, self.clock() - KEEP_FOR)

    def _claim(self) -> list[sends.DueSend]:
        with self.db.write() as conn:
            return sends.claim_due(conn, self.clock(), self.lease, self.batch)

    async def _tell(self, send: sends.DueSend) -> None:
        try:
            error = await self._deliver(send)
        except Exception as exc:  # an SMTP refusal, a dropped connection, a timeout
            error = f"{type(exc).__name__}: {exc}"
        await asyncio.to_thread(self._settle, send, error)

    async def _deliver(self, send: sends.DueSend) -> str | SendState | None:
        """None when sent; ``SKIPPED`` when there is nobody to send to; else the error."""
        if send.channel is Channel.EMAIL:
            return await self._email(send)
        return await self._webhook(send)

    async def _email(self, send: sends.DueSend) -> SendState | None:
        if send.email is None or self.mailer is None:
            return SendState.SKIPPED
        subject, text = email_text(send.kind, send.data, send.platform_name, send.language)
        await self.mailer.send(send.email, subject, text, send.incident_id)
        return None

    async def _webhook(self, send: sends.DueSend) -> str | SendState | None:
        """Signed as a delivery is; the incident id is its idempotency key (webhook-id)."""
        hook = await asyncio.to_thread(self._ops_hook)
        if hook is None:
            return SendState.SKIPPED
        url, secret = hook
        body = operational_body(
            send.kind.value, send.incident_id, send.platform_id, send.data, send.created_at
        )
        headers = wire.delivery_headers(
            secrets=[secret], idempotency_key=send.incident_id, body=body, sent_at=self.clock()
        )
        result = await self.transport.send(Outgoing(url=url, body=body, headers=headers))
        if result.ok:
            return None
        return result.error_detail or f"HTTP {result.status_code}"

    def _ops_hook(self) -> tuple[str, str] | None:
        with self.db.read() as conn:
            hook = sends.get_ops_hook(conn)
        return None if hook is None else (hook.url, self.decrypt(hook.secret_ciphertext))

    def _settle(self, send: sends.DueSend, outcome: str | SendState | None) -> None:
        now = self.clock()
        with self.db.write() as conn:
            if outcome is None:
                sends.settle(conn, send, SendState.SENT, now)
            elif isinstance(outcome, SendState):
                sends.settle(conn, send, outcome, now)
            else:
                retry_at = next_try(send.attempts + 1, now)
                state = SendState.PENDING if retry_at else SendState.ABANDONED
                log.warning(
                    "alerts: %s to %s failed (try %d): %s",
                    send.channel,
                    send.recipient,
                    send.attempts + 1,
                    outcome,
                )
                sends.settle(conn, send, state, now, retry_at=retry_at, error=outcome)
