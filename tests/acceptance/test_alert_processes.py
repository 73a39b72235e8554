"""Alerts from real processes: two ``hookline worker`` on one database tell once.

``hookline serve --no-worker`` and two workers, with ``HOOKLINE_SMTP_URL`` pointing at
a real ``aiosmtpd`` server on loopback and the operational webhook at a loopback
receiver. A receiver answering 400 fails its delivery for good: both workers notice
the same incident, and each recipient must get one email and the operator's URL one
request. The test waits until every alert row is ``sent`` (after which nothing can be
sent again) and then counts, on both backends.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from hookline.devtools.fake import fake_data
from hookline.store.tables import alert_sends
from tests.support.process import free_port, wait_until
from tests.support.receiver import Receiver, answering
from tests.support.shared_db import (
    OPERATOR_TOKEN,
    PRODUCER,
    TOPIC,
    Processes,
    backend_env,
    make_platform,
    ok,
)
from tests.support.smtp import SmtpSink

OP = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
MEMBERS = ("mia@coffee.example", "lin@coffee.example")


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink().running() as sink:
        yield sink


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def procs(request: pytest.FixtureRequest, tmp_path: Path, smtp: SmtpSink) -> Iterator[Processes]:
    with backend_env(
        request.param,
        tmp_path / "var",
        concurrency=10,
        lease_seconds=20,
        send_timeout=5,
        HOOKLINE_SMTP_URL=smtp.url,
        HOOKLINE_SMTP_FROM="alerts@hookline.test",
        HOOKLINE_ALERTS_INTERVAL="0.2",
    ) as env:
        p = Processes(env)
        try:
            yield p
        finally:
            p.stop_all()


def sends_state(env: dict[str, str]) -> list[str]:
    url = env.get("HOOKLINE_DATABASE_URL") or f"sqlite:///{env['HOOKLINE_DATA_DIR']}/hookline.db"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(select(alert_sends.c.state)))
    finally:
        engine.dispose()


def test_two_workers_tell_an_incident_once(
    procs: Processes, smtp: SmtpSink, receiver: Receiver
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs.serve("serve", port)
    receiver.policy = lambda r: answering(200 if r.path == "/ops" else 400)(r)
    try:
        with httpx.Client(base_url=base, timeout=30) as api:
            ok(api.put("/v1/admin/alerts/webhook", json={"url": receiver.url("/ops")}, headers=OP))
            platform = make_platform(base, api, "Coffee")
            for email in MEMBERS:
                body = {"email": email, "password": "correct horse battery"}
                ok(api.post(f"/v1/admin/platforms/{platform.id}/users", json=body, headers=OP), 201)
            platform.add_webhook("CRM", receiver.url("/crm"))
            procs.worker("worker 1")
            procs.worker("worker 2")
            event = {
                "platform_id": platform.id,
                "topic": TOPIC,
                "data": fake_data(TOPIC, random.Random(1)),
            }
            r = httpx.post(
                base + "/internal/v1/events/batch", json={"events": [event]}, headers=PRODUCER
            )
            assert ok(r, 202)["accepted"] == 1
        wait_until("the emails", lambda: all(smtp.to(m) for m in MEMBERS), 60)
        wait_until(
            "every alert sent",
            lambda: (s := sends_state(procs.env)) != [] and set(s) == {"sent"},
            60,
        )
    except BaseException:
        print("\n" + procs.report())
        raise
    assert [len(smtp.to(m)) for m in MEMBERS] == [1, 1]
    assert smtp.to(MEMBERS[0])[0].subject == "Webhook “CRM” is failing"
    assert len(receiver.received("/ops")) == 1
    assert len(sends_state(procs.env)) == len(MEMBERS) + 1  # two emails, one webhook
