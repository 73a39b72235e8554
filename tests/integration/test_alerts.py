"""Incidents found in the engine's state and told once, by email and operational webhook.

Real parts only: the delivery engine sends to a loopback receiver, emails go to a real
``aiosmtpd`` server on loopback, the operational webhook to the same receiver on
another path. Each incident must arrive once per recipient, whichever worker (or how
many passes) noticed it; time moves on the fake clock.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hookline.dispatch.alerts import Alerts
from hookline.dispatch.mailer import Mailer
from hookline.dispatch.worker import Worker
from hookline.domain.models import Actor, Role, User
from hookline.domain.secrets import standard_webhooks_key
from hookline.domain.smtp import parse_smtp_url
from hookline.services import alerts as alert_settings
from hookline.services.context import Context
from hookline.services.platforms import set_zone
from hookline.services.users import create_user, list_users
from hookline.store.tables import incidents
from tests.conftest import FakeClock
from tests.support.engine import Setup, make_setup, make_worker
from tests.support.receiver import Received, Receiver, answering
from tests.support.smtp import SmtpSink

OPERATOR = Actor(kind="operator", id="test")
PASSWORD = "correct horse battery staple"
MEMBER = "marketer@example.com"
MEMBER_ZH = "xiaomei@example.com"
OPS_EMAIL = "ops@example.com"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink().running() as sink:
        yield sink


@pytest.fixture
async def worker(ctx: Context) -> AsyncIterator[Worker]:
    w = make_worker(ctx)
    yield w
    await w.sender.close()


def make_alerts(ctx: Context, worker: Worker, smtp: SmtpSink) -> Alerts:
    mailer = Mailer(parse_smtp_url(smtp.url, "alerts@hookline.test"))
    return Alerts(
        ctx.db, transport=worker.sender, decrypt=ctx.box.decrypt, clock=ctx.clock, mailer=mailer
    )


@pytest.fixture
def setup(ctx: Context, receiver: Receiver) -> Setup:
    """A platform with one webhook, a member in each language, an operator, the ops URL."""
    s = make_setup(ctx, [receiver.url()])
    create_user(ctx, email=MEMBER, password=PASSWORD, role=Role.MEMBER, platform_id=s.platform_id)
    zh = create_user(
        ctx, email=MEMBER_ZH, password=PASSWORD, role=Role.MEMBER, platform_id=s.platform_id
    )
    alert_settings.set_user_alerts(ctx, zh.id, OPERATOR, language="zh-TW")
    create_user(ctx, email=OPS_EMAIL, password=PASSWORD, role=Role.OPERATOR, platform_id=None)
    return s


def ops_secret(ctx: Context, receiver: Receiver) -> str:
    view = alert_settings.set_ops_hook(ctx, receiver.url("/ops"), OPERATOR)
    assert view.secret is not None
    return view.secret


def ops_events(receiver: Receiver) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in receiver.received("/ops")]


def subjects(smtp: SmtpSink, address: str) -> list[str]:
    return [m.subject for m in smtp.to(address)]


async def fail_for(setup: Setup, worker: Worker, clock: FakeClock, minutes: float) -> None:
    """Attempts that all fail, spread over ``minutes`` of the fake clock."""
    setup.publish()
    await worker.run_until_idle()
    clock.advance(minutes=minutes)
    setup.publish()
    await worker.run_until_idle()


async def test_failing_then_recovered_is_told_once_to_everyone(
    ctx: Context,
    setup: Setup,
    receiver: Receiver,
    worker: Worker,
    smtp: SmtpSink,
    clock: FakeClock,
) -> None:
    secret = ops_secret(ctx, receiver)
    receiver.policy = lambda r: answering(200 if r.path == "/ops" else 500)(r)
    setup.publish()
    await worker.run_until_idle()
    alerts = make_alerts(ctx, worker, smtp)
    await alerts.once()
    assert smtp.mails == [] and ops_events(receiver) == []  # one failure is not an incident yet

    clock.advance(minutes=31)
    setup.publish()
    await worker.run_until_idle()
    other_worker = make_alerts(ctx, worker, smtp)
    await asyncio.gather(alerts.once(), other_worker.once())
    await alerts.once()
    assert subjects(smtp, MEMBER) == ["Webhook “hook 0” is failing"]
    assert subjects(smtp, MEMBER_ZH) == ["Webhook「hook 0」傳送失敗中"]
    assert subjects(smtp, OPS_EMAIL) == ["Webhook “hook 0” is failing"]
    assert "自" in smtp.to(MEMBER_ZH)[0].text and "hook 0" in smtp.to(MEMBER)[0].text
    [failing] = ops_events(receiver)
    assert failing["type"] == "webhook.failing"
    data = failing["data"]
    assert isinstance(data, dict)
    assert data["platform_id"] == setup.platform_id
    assert data["webhook_id"] == setup.webhook_ids[0]
    check_signatures(receiver.received("/ops")[0], secret)

    receiver.policy = answering(200)
    setup.publish()
    await worker.run_until_idle()
    await alerts.once()
    await other_worker.once()
    assert subjects(smtp, MEMBER)[1:] == ["Webhook “hook 0” delivers again"]
    assert subjects(smtp, MEMBER_ZH)[1:] == ["Webhook「hook 0」已恢復傳送"]
    assert [e["type"] for e in ops_events(receiver)] == ["webhook.failing", "webhook.recovered"]


def check_signatures(request: Received, secret: str) -> None:
    """Signed as every delivery is: CrescLab-Signature and Standard Webhooks."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    mac = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert headers["cresclab-signature"] == mac
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request.body
    expected = base64.b64encode(
        hmac.new(standard_webhooks_key(secret), signed, hashlib.sha256).digest()
    ).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


async def test_a_delivery_failed_for_good_is_failing_at_once(
    ctx: Context, setup: Setup, receiver: Receiver, worker: Worker, smtp: SmtpSink
) -> None:
    receiver.policy = answering(400)  # a 4xx is not retried: the delivery fails for good
    setup.publish()
    await worker.run_until_idle()
    await make_alerts(ctx, worker, smtp).once()
    assert subjects(smtp, MEMBER) == ["Webhook “hook 0” is failing"]


async def test_a_410_stop_is_told_as_stopped_only(
    ctx: Context, setup: Setup, receiver: Receiver, worker: Worker, smtp: SmtpSink
) -> None:
    ops_secret(ctx, receiver)
    receiver.policy = lambda r: answering(200 if r.path == "/ops" else 410)(r)
    setup.publish()
    await worker.run_until_idle()
    alerts = make_alerts(ctx, worker, smtp)
    await alerts.once()
    await alerts.once()
    assert subjects(smtp, MEMBER) == ["Webhook “hook 0” was stopped"]
    assert "410 Gone" in smtp.to(MEMBER)[0].text
    assert "410 Gone" in smtp.to(MEMBER_ZH)[0].text and "停用" in smtp.to(MEMBER_ZH)[0].subject
    [stopped] = ops_events(receiver)
    assert stopped["type"] == "webhook.stopped"
    assert isinstance(stopped["data"], dict) and stopped["data"]["stop_reason"] == "gone"


async def test_a_zone_is_warned_seven_days_and_one_day_before_it_ends(
    ctx: Context, setup: Setup, worker: Worker, smtp: SmtpSink, clock: FakeClock
) -> None:
    set_zone(ctx, setup.platform_id, 1, clock.now + timedelta(days=10))
    alerts = make_alerts(ctx, worker, smtp)
    await alerts.once()
    assert smtp.mails == []
    clock.advance(days=3, hours=1)
    await alerts.once()
    await alerts.once()
    clock.advance(days=5)  # 1 day 23 hours left: nothing new
    await alerts.once()
    clock.advance(days=1)  # 23 hours left
    await alerts.once()
    await alerts.once()
    assert subjects(smtp, MEMBER) == ["Zone 1 ends in 7 day(s)", "Zone 1 ends in 1 day(s)"]
    assert subjects(smtp, MEMBER_ZH) == ["區域 1 將於 7 天後到期", "區域 1 將於 1 天後到期"]


async def test_smtp_down_then_up_sends_each_email_once(
    ctx: Context,
    setup: Setup,
    receiver: Receiver,
    worker: Worker,
    smtp: SmtpSink,
    clock: FakeClock,
) -> None:
    receiver.policy = answering(400)
    setup.publish()
    await worker.run_until_idle()
    smtp.stop()
    alerts = make_alerts(ctx, worker, smtp)
    await alerts.once()
    await alerts.once()  # not due again yet: nothing tried
    clock.advance(minutes=1)
    await alerts.once()  # still down: the second try fails too
    smtp.start()
    await alerts.once()  # the next try is not due yet
    assert smtp.mails == []
    clock.advance(minutes=1)
    await alerts.once()
    clock.advance(hours=2)
    await alerts.once()
    assert subjects(smtp, MEMBER) == ["Webhook “hook 0” is failing"]
    assert len(smtp.mails) == 3  # the two members and the operator, once each


async def test_a_member_who_turned_emails_off_gets_none(
    ctx: Context, setup: Setup, receiver: Receiver, worker: Worker, smtp: SmtpSink
) -> None:
    member = next(u for u in list_members(ctx, setup) if u.email == MEMBER)
    alert_settings.set_user_alerts(ctx, member.id, OPERATOR, email_alerts=False)
    receiver.policy = answering(400)
    setup.publish()
    await worker.run_until_idle()
    await make_alerts(ctx, worker, smtp).once()
    assert smtp.to(MEMBER) == []
    assert len(smtp.to(MEMBER_ZH)) == 1


async def test_another_platforms_incident_is_not_told_to_this_platforms_members(
    ctx: Context, setup: Setup, receiver: Receiver, worker: Worker, smtp: SmtpSink
) -> None:
    other = make_setup(ctx, [receiver.url("/other")])
    receiver.policy = lambda r: answering(400 if r.path == "/other" else 200)(r)
    other.publish()
    await worker.run_until_idle()
    await make_alerts(ctx, worker, smtp).once()
    assert smtp.to(MEMBER) == [] and smtp.to(MEMBER_ZH) == []
    assert subjects(smtp, OPS_EMAIL) == ["Webhook “hook 0” is failing"]
    with ctx.db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(incidents)) == 1


def list_members(ctx: Context, setup: Setup) -> list[User]:
    return list_users(ctx, setup.platform_id)


async def test_incidents_over_for_90_days_are_purged_open_ones_stay(
    ctx: Context, setup: Setup, receiver: Receiver, worker: Worker, smtp: SmtpSink, clock: FakeClock
) -> None:
    receiver.policy = answering(400)
    setup.publish()
    await worker.run_until_idle()
    set_zone(ctx, setup.platform_id, 1, clock.now + timedelta(days=3))
    alerts = make_alerts(ctx, worker, smtp)
    await alerts.once()  # a failing webhook (open) and a zone warning (over at once)
    clock.advance(days=91)
    await alerts.once()
    with ctx.db.read() as conn:
        left = list(conn.scalars(select(incidents.c.kind)))
    assert left == ["webhook.failing"]


async def test_an_operational_webhook_that_fails_is_retried_with_the_same_id(
    ctx: Context, setup: Setup, receiver: Receiver, worker: Worker, smtp: SmtpSink, clock: FakeClock
) -> None:
    ops_secret(ctx, receiver)
    ops_answers = iter([503, 200])
    receiver.policy = lambda r: answering(next(ops_answers) if r.path == "/ops" else 400)(r)
    setup.publish()
    await worker.run_until_idle()
    alerts = make_alerts(ctx, worker, smtp)
    await alerts.once()
    assert len(receiver.received("/ops")) == 1  # answered 503
    await alerts.once()  # not due yet
    clock.advance(seconds=11)
    await alerts.once()
    clock.advance(hours=1)
    await alerts.once()
    tries = receiver.received("/ops")
    assert len(tries) == 2 and tries[0].body == tries[1].body
    assert tries[0].headers["webhook-id"] == tries[1].headers["webhook-id"]
