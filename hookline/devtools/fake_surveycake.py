"""A fake SurveyCake on loopback: the query API, encrypted answers, and its notifications.

It speaks SurveyCake's documented protocol (``../shared/spec/surveycake.md``): answers
are served at ``GET /webhook/v0/{svid}/{hash}`` as base64 of AES-128-CBC ciphertext
(zero padding) under the survey's Hash key and IV key, and a new answer is announced
by a form post of ``svid`` and ``hash`` to the survey's webhook URL. Faults can be
queued per answer (a 500 first, a truncated ciphertext) to rehearse hookline's side.

Used by ``hookline simulate surveycake`` and by the tests; never by the server.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from hookline.domain.surveycake import encrypt

DEMO_SVID = "hlDemo"
DEMO_TITLE = "2026 會員滿意度調查"
DEMO_LINE_UID = "U8934fa6cfd94060d8efeb32867d9715d"


def question(
    sn: int,
    subject: str,
    kind: str,
    answer: list[str],
    *,
    alias: str = "",
    other: list[str] | None = None,
    labels: list[str] | None = None,
    answer_alias: list[str] | None = None,
) -> dict[str, Any]:
    """One ``result`` item as SurveyCake sends it when aliases are set."""
    return {
        "subject": subject,
        "type": kind,
        "sn": sn,
        "label": "",
        "alias": alias,
        "answer": answer,
        "otherAnswer": other or [],
        "answerLabel": labels or [],
        "answerAlias": answer_alias or [],
    }


def demo_answer(
    line_uid: str | None = DEMO_LINE_UID,
    *,
    svid: str = DEMO_SVID,
    customer_id: str | None = "C-1001",
    submit_time: str = "2026-11-28 15:43:20",
) -> dict[str, Any]:
    """A decrypted answer holding every question type SurveyCake lists, a matrix, an
    "other" answer and aliases in Chinese; ``line_uid`` None: no LINE friend in it."""
    result = [
        question(1, "LINE UID", "TXTSHORT", [line_uid or ""], alias="maac_member_line_uid"),
        question(2, "您的姓名", "TXTSHORT", ["王小明"], alias="maac_member_name"),
        question(3, "還有什麼想對我們說的", "TXTLONG", ["希望門市\n多一些座位。"], alias="建議"),
        question(
            4,
            "您的性別",
            "CHOICEONE",
            ["男"],
            alias="maac_member_gender",
            labels=["A"],
            answer_alias=["male"],
        ),
        question(
            5,
            "您最常在哪些通路購買",
            "CHOICEMULTI",
            ["全家便利商店", "其他"],
            alias="通路",
            other=["家樂福"],
            labels=["B", "E"],
            answer_alias=["familymart", "other"],
        ),
        question(6, "請為我們的服務評分", "NEST", []),
        question(7, "店員態度", "NESTCHILD", ["滿意"], alias="評分_店員"),
        question(8, "環境整潔", "NESTCHILD", ["普通"], alias="評分_環境"),
        question(9, "每月來店次數", "DIGITINPUT", ["3"]),
        question(10, "推薦給朋友的意願", "DIGITSLIDE", ["8"]),
        question(11, "請排序您最喜歡的飲品", "ITEMSORT", ["拿鐵", "美式", "抹茶拿鐵"]),
        question(12, "整體滿意度", "RATINGBAR", ["5"], alias="滿意度"),
        question(13, "居住縣市", "PICKFROM", ["臺北市"]),
        question(14, "以下為個人資料蒐集聲明", "QUOTE", []),
        question(15, "我同意上述聲明", "STATEMENT", ["同意"]),
        question(16, "您的生日", "DATEPICKER", ["1990-05-20"], alias="maac_member_birthday"),
        question(17, "", "DIVIDER", []),
    ]
    if customer_id is not None:
        result.append(
            question(18, "會員編號", "TXTSHORT", [customer_id], alias="maac_member_customer_id")
        )
    return {"svid": svid, "title": DEMO_TITLE, "submitTime": submit_time, "result": result}


@dataclass
class _Survey:
    hash_key: str
    iv_key: str
    answers: dict[str, bytes] = field(default_factory=dict)


class FakeSurveyCake:
    """Surveys with their keys, answers by hash, and faults queued per hash."""

    def __init__(self) -> None:
        self.surveys: dict[str, _Survey] = {}
        self.faults: dict[str, list[str]] = {}
        """Per hash, what the next queries get: ``"500"``, ``"truncate"``, ``"hang"``."""
        self.queries: list[str] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_survey(self, svid: str, hash_key: str, iv_key: str) -> None:
        self.surveys[svid] = _Survey(hash_key, iv_key)

    def submit(self, svid: str, answer: dict[str, Any], answer_hash: str | None = None) -> str:
        """Store an answer, encrypted with the survey's keys; answers its hash."""
        survey = self.surveys[svid]
        answer_hash = answer_hash or secrets.token_hex(16)
        survey.answers[answer_hash] = encrypt(answer, survey.hash_key, survey.iv_key)
        return answer_hash

    def store_raw(self, svid: str, answer_hash: str, body: bytes) -> None:
        """Serve exactly these bytes for this answer (hostile or malformed answers)."""
        self.surveys[svid].answers[answer_hash] = body

    async def _query(self, request: web.Request) -> web.Response:
        svid, answer_hash = request.match_info["svid"], request.match_info["hash"]
        self.queries.append(f"{svid}/{answer_hash}")
        queued = self.faults.get(answer_hash)
        fault = queued.pop(0) if queued else None
        if fault is not None and fault.isdigit():
            return web.Response(status=int(fault), text="SurveyCake is having a moment")
        if fault == "hang":  # an answer that never comes (until the fake stops)
            await asyncio.Event().wait()
        survey = self.surveys.get(svid)
        body = survey.answers.get(answer_hash) if survey else None
        if body is None:
            return web.Response(status=404, text="not found")
        if fault == "truncate":
            body = body[: len(body) // 2 - 3]
        return web.Response(body=body, content_type="text/plain")

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_get("/webhook/v0/{svid}/{hash}", self._query)
        return application

    async def start(self, port: int = 0) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextmanager
    def running(self) -> Iterator[FakeSurveyCake]:
        """Serve from a thread of its own (for synchronous tests and tools)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fake-surveycake", daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=10)
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()


async def notify(intake_url: str, svid: str, answer_hash: str) -> tuple[int, str]:
    """What SurveyCake does on a new answer: a form post of ``svid`` and ``hash``."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        form = {"svid": svid, "hash": answer_hash}
        async with session.post(intake_url, data=form) as answer:
            return answer.status, await answer.text()
