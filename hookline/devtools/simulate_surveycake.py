"""``hookline simulate surveycake``: a demo survey answered on a fake SurveyCake.

It plays both outside parties over HTTP, as they would: the marketer connects a
survey (``POST /v1/surveycake/surveys`` with the platform token, its ``base_url``
pointing at a fake SurveyCake on loopback), and SurveyCake announces each new answer
with a form post to the intake URL. Then it waits for hookline's worker to fetch,
decrypt and publish each answer, and reports what became of it. The fake keeps
answering the query API until then. hookline must allow loopback addresses
(``serve --demo`` does).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from hookline.devtools.fake_surveycake import (
    DEMO_LINE_UID,
    DEMO_SVID,
    DEMO_TITLE,
    FakeSurveyCake,
    demo_answer,
    notify,
)

FINAL = ("published", "not_linked", "failed")
TOPIC = "form.surveycake_submitted"


class SurveyCakeSimulationError(Exception):
    """hookline refused a step or did not finish in time; the message says which."""


@dataclass(frozen=True)
class Outcome:
    answer_hash: str
    state: str
    event_id: str | None
    detail: str | None


@dataclass(frozen=True)
class SurveyCakeReport:
    outcomes: list[Outcome]
    subscribed: bool
    """Whether any working webhook of the platform listens to form.surveycake_submitted."""


class _Api:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self.session = session
        self.base = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            async with self.session.request(
                method, self.base + path, headers=self.headers, **kwargs
            ) as answer:
                body = await answer.json(content_type=None) if answer.status != 204 else None
                return answer.status, body
        except aiohttp.ClientError as exc:
            raise SurveyCakeSimulationError(f"cannot reach hookline at {self.base}: {exc}") from exc

    async def expect(self, method: str, path: str, ok: int, **kwargs: Any) -> Any:
        status, body = await self.call(method, path, **kwargs)
        if status != ok:
            detail = body.get("detail") if isinstance(body, dict) else body
            raise SurveyCakeSimulationError(f"{method} {path} answered {status}: {detail}")
        return body


async def _connect(api: _Api, fake: FakeSurveyCake, svid: str) -> str:
    """A fresh demo survey with new keys; answers the intake URL to notify."""
    hash_key, iv_key = secrets.token_hex(8), secrets.token_hex(8)
    fake.add_survey(svid, hash_key, iv_key)
    await api.call("DELETE", f"/v1/surveycake/surveys/{svid}")  # an earlier run's, if any
    body = {
        "svid": svid,
        "name": DEMO_TITLE,
        "hash_key": hash_key,
        "iv_key": iv_key,
        "base_url": fake.base_url,
    }
    created = await api.expect("POST", "/v1/surveycake/surveys", 201, json=body)
    return str(created["intake_url"])


async def _subscribed(api: _Api) -> bool:
    found = await api.expect("GET", "/v1/webhooks", 200, params={"limit": "100"})
    return any(hook["status"] == "working" and TOPIC in hook["topics"] for hook in found["data"])


async def _wait(api: _Api, svid: str, hashes: list[str], timeout: float) -> list[Outcome]:
    deadline = time.monotonic() + timeout
    while True:
        found = await api.expect(
            "GET", "/v1/surveycake/notifications", 200, params={"svid": svid, "limit": "200"}
        )
        rows = {n["answer_hash"]: n for n in found["data"] if n["answer_hash"] in hashes}
        if all(h in rows and rows[h]["state"] in FINAL for h in hashes):
            return [
                Outcome(h, rows[h]["state"], rows[h]["event_id"], rows[h]["error_detail"])
                for h in hashes
            ]
        if time.monotonic() > deadline:
            raise SurveyCakeSimulationError(
                f"hookline did not finish the answers within {timeout:g} s: is a worker running"
                " (`hookline serve` starts them, or `hookline worker`)?"
            )
        await asyncio.sleep(0.2)


async def simulate_surveycake(
    *,
    base_url: str,
    token: str,
    count: int = 1,
    line_uid: str | None = DEMO_LINE_UID,
    svid: str = DEMO_SVID,
    timeout: float = 60.0,
    on_sent: Callable[[str], None] = lambda _hash: None,
) -> SurveyCakeReport:
    """Connect the demo survey, submit ``count`` answers, wait for each one's fate."""
    fake = FakeSurveyCake()
    await fake.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            api = _Api(session, base_url, token)
            intake = await _connect(api, fake, svid)
            subscribed = await _subscribed(api)
            hashes = []
            for _ in range(count):
                answer_hash = fake.submit(svid, demo_answer(line_uid, svid=svid))
                status, text = await notify(intake, svid, answer_hash)
                if status != 200:
                    raise SurveyCakeSimulationError(f"the intake answered {status}: {text}")
                hashes.append(answer_hash)
                on_sent(answer_hash)
            outcomes = await _wait(api, svid, hashes, timeout)
    finally:
        await fake.stop()
    return SurveyCakeReport(outcomes, subscribed)
