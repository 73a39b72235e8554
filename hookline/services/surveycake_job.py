"""The worker-side job: fetch each SurveyCake answer, decrypt it, publish it as an event.

It runs beside the delivery worker in every ``hookline worker`` process and in
``serve``'s embedded worker (``dispatch.runner.run_worker``'s companions). A
notification is leased while it is worked on; a worker killed meanwhile leaves the
lease to expire and another worker takes the row again. Publishing goes through the
ordinary ingest path (schema check, zone gate, deliveries) with the producer id
``surveycake:<svid>:<hash>``, so a row worked twice still makes one event.

The HTTP GET is injected (``Fetch``): services know no HTTP client; the composition
root hands in ``dispatch.surveycake_fetch``, which applies the SSRF guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hookline.domain import surveycake as rules
from hookline.domain.errors import (
    HooklineError,
    SecretUnreadable,
    StorageUnavailable,
    SurveyNotFound,
)
from hookline.domain.text import UNSAFE_CHARACTERS, data_refusal
from hookline.services import ingest
from hookline.services.context import Context
from hookline.services.surveycake import survey_keys
from hookline.store import surveycake as store

log = logging.getLogger(__name__)
TOPIC = "form.surveycake_submitted"
Fetch = Callable[[str], Awaitable[rules.Fetched]]
_CONTROL = re.compile(f"[{UNSAFE_CHARACTERS}]")


@dataclass(frozen=True)
class JobSettings:
    batch: int = 10
    lease_seconds: float = 60.0
    """Longer than a fetch (its timeout) plus a publish: a live worker never loses its row."""
    poll_interval: float = 1.0
    max_attempts: int = 8
    backoff_base: float = 10.0
    backoff_cap: float = 3600.0
    retention: timedelta = timedelta(days=30)
    """Settled notifications (and the answers kept with them) are forgotten after this."""
    dead_after: timedelta | None = None
    """A worker without a heartbeat for this long is dead: its notifications are taken
    over at once, not when their lease runs out (``HOOKLINE_WORKER_DEAD_AFTER``, as
    for deliveries). ``None``: only at the lease's end."""


@dataclass(frozen=True)
class Outcome:
    """How one notification ended this time: the values its row is settled with."""

    state: str
    error: str | None = None
    detail: str | None = None
    event_id: str | None = None
    answer: str | None = None
    retry_in: float | None = None


def printable(detail: str) -> str:
    """A message safe to store and show: it may quote an alias or a path from the answer."""
    safe = detail.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", safe)


def producer_id(svid: str, answer_hash: str) -> str:
    return f"surveycake:{svid}:{answer_hash}"


class SurveyCakeJob:
    def __init__(
        self,
        ctx: Context,
        fetch: Fetch,
        *,
        name: str,
        settings: JobSettings | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.ctx = ctx
        self.fetch = fetch
        self.name = name
        self.settings = settings or JobSettings()
        self.rng = rng or random.Random()  # noqa: S311 - retry jitter
        self._next_purge: datetime | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: work what is due, else wait a poll interval. Never raises."""
        while not stop.is_set():
            try:
                worked = await self.run_once()
            except Exception:  # the database is down, say: the loop outlives it
                log.exception("surveycake job %s: a round failed; trying again", self.name)
                worked = 0
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.poll_interval)

    async def run_once(self) -> int:
        """Claim up to a batch, work them concurrently; answers how many were claimed."""
        claimed = await asyncio.to_thread(self._claim)
        await asyncio.gather(*(self._work(n) for n in claimed))
        return len(claimed)

    async def run_until_idle(self) -> None:
        """Tests and one-off runs: work until nothing is due now."""
        while await self.run_once():
            pass

    def _claim(self) -> list[store.NotificationRow]:
        now = self.ctx.clock()
        self._purge(now)
        after = self.settings.dead_after
        dead_before = None if after is None else now - after
        with self.ctx.db.read() as conn:
            if not store.any_due(conn, now, dead_before=dead_before, alive=self.name):
                return []
        with self.ctx.db.write() as conn:
            return store.claim(
                conn,
                owner=self.name,
                now=now,
                lease_until=now + timedelta(seconds=self.settings.lease_seconds),
                limit=self.settings.batch,
                dead_before=dead_before,
                alive=self.name,
            )

    def _purge(self, now: datetime) -> None:
        """Settled notifications go after the retention period, as events do (hourly)."""
        if self._next_purge is not None and now < self._next_purge:
            return
        self._next_purge = now + timedelta(hours=1)
        with self.ctx.db.write() as conn:
            store.purge(conn, now - self.settings.retention)

    async def _work(self, row: store.NotificationRow) -> None:
        try:
            outcome = await self._outcome(row)
        except Exception as exc:  # a bug must not wedge the row: it is retried, then failed
            log.exception("surveycake notification %s could not be worked", row.id)
            outcome = self._retry(row, "internal_error", f"{type(exc).__name__} while working it")
        await asyncio.to_thread(self._settle, row, outcome)

    async def _outcome(self, row: store.NotificationRow) -> Outcome:
        survey = await asyncio.to_thread(self._survey, row)
        if survey is None:
            return Outcome(
                store.UNKNOWN_SURVEY,
                "unknown_survey",
                "The survey was deleted before its answer"
                " was fetched; connect it again to fetch it.",
            )
        try:
            hash_key, iv_key = survey_keys(self.ctx, survey)
        except SecretUnreadable as exc:
            return Outcome(store.FAILED, "keys_unreadable", exc.message)
        fetched = await self.fetch(rules.query_url(survey.base_url, row.svid, row.answer_hash))
        if not fetched.ok:
            return self._fetch_failed(row, fetched)
        try:
            answer = rules.decrypt(fetched.body, hash_key, iv_key)
            found = rules.submission(
                answer, svid=row.svid, answer_hash=row.answer_hash, survey_name=survey.name
            )
        except rules.AnswerProblem as problem:
            return Outcome(store.FAILED, problem.code, problem.detail)
        refusal = data_refusal(found.data)
        if refusal is not None:  # checked before an unlinked answer is kept, too
            return Outcome(store.FAILED, "refused", refusal[1].message("data" + refusal[0][1:]))
        if found.line_uid is None:
            return Outcome(
                store.NOT_LINKED,
                "not_linked",
                f"Not linked to a LINE friend: {found.unlinked_reason}.",
                answer=json.dumps(found.data, ensure_ascii=False),
            )
        return await self._publish(row, found.data)

    def _survey(self, row: store.NotificationRow) -> store.SurveyRow | None:
        with self.ctx.db.read() as conn:
            return store.get_survey(conn, row.platform_id, row.svid)

    def _fetch_failed(self, row: store.NotificationRow, fetched: rules.Fetched) -> Outcome:
        why = fetched.error or f"the query API answered HTTP {fetched.status}"
        if fetched.retryable:
            return self._retry(row, "fetch_failed", why)
        return Outcome(store.FAILED, "fetch_failed", why)

    def _retry(self, row: store.NotificationRow, code: str, detail: str) -> Outcome:
        """Again later (exponential back-off with jitter), or failed after the last try."""
        if row.attempts >= self.settings.max_attempts:
            return Outcome(store.FAILED, code, f"{detail} (gave up after {row.attempts} tries)")
        base = self.settings.backoff_base * 2 ** (row.attempts - 1)
        delay = min(self.settings.backoff_cap, base) * self.rng.uniform(0.8, 1.2)
        return Outcome(store.PENDING, code, detail, retry_in=delay)

    async def _publish(self, row: store.NotificationRow, data: dict[str, Any]) -> Outcome:
        item = ingest.IncomingEvent(
            platform_id=row.platform_id,
            topic=TOPIC,
            data=data,
            producer_id=producer_id(row.svid, row.answer_hash),
        )
        try:
            done = await asyncio.to_thread(ingest.ingest_one, self.ctx, item)
        except StorageUnavailable as exc:
            return self._retry(row, "storage_unavailable", exc.message)
        except HooklineError as exc:
            return Outcome(store.FAILED, "refused", exc.message)
        return Outcome(store.PUBLISHED, event_id=done.event_id)

    def _settle(self, row: store.NotificationRow, outcome: Outcome) -> None:
        now = self.ctx.clock()
        values: dict[str, Any] = {
            "state": outcome.state,
            "error": outcome.error,
            "error_detail": printable(outcome.detail)[:500] if outcome.detail else None,
            "event_id": outcome.event_id,
            "answer": outcome.answer,
            "updated_at": now,
            "next_attempt_at": None,
        }
        if outcome.retry_in is not None:
            values["next_attempt_at"] = now + timedelta(seconds=outcome.retry_in)
        with self.ctx.db.write() as conn:
            if not store.settle(conn, row.id, self.name, values):
                return  # the lease ran out and another worker has the row now
            if outcome.state == store.PUBLISHED:
                store.record_survey_error(conn, row.platform_id, row.svid, None, None, now)
            elif outcome.state == store.FAILED:
                store.record_survey_error(
                    conn, row.platform_id, row.svid, outcome.error, values["error_detail"], now
                )
        if outcome.state == store.FAILED:
            log.warning(
                "surveycake answer %s of survey %s failed: %s",
                row.id,
                row.svid,
                outcome.error,
            )


@dataclass(frozen=True)
class KeyCheck:
    """The survey's keys against one answer SurveyCake holds: None when they open it."""

    answer_hash: str | None
    problem: str | None
    detail: str | None = None


async def check_keys(ctx: Context, platform_id: str, svid: str, fetch: Fetch) -> KeyCheck:
    """Fetch the survey's newest answer and decrypt it, changing nothing.

    ``problem`` is ``no_answer_yet`` before SurveyCake has notified any answer, else
    one of the job's failure codes (``wrong_keys``, ``fetch_failed``, ...).
    """
    with ctx.db.read() as conn:
        row = store.get_survey(conn, platform_id, svid)
        answer_hash = store.latest_hash(conn, platform_id, svid) if row else None
    if row is None:
        raise SurveyNotFound(f"No connected survey has the svid '{svid}'.")
    if answer_hash is None:
        return KeyCheck(None, "no_answer_yet")
    fetched = await fetch(rules.query_url(row.base_url, svid, answer_hash))
    if not fetched.ok:
        why = fetched.error or f"the query API answered HTTP {fetched.status}"
        return KeyCheck(answer_hash, "fetch_failed", why)
    hash_key, iv_key = survey_keys(ctx, row)
    try:
        answer = rules.decrypt(fetched.body, hash_key, iv_key)
        rules.submission(answer, svid=svid, answer_hash=answer_hash, survey_name=row.name)
    except rules.AnswerProblem as problem:
        return KeyCheck(answer_hash, problem.code, problem.detail)
    return KeyCheck(answer_hash, None)
