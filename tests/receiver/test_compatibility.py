"""Real hookline deliveries, checked by every verifier a receiver might use.

Events go through the real path (ingest -> queue -> worker -> sender -> HTTP) to a real
loopback receiver; what it captured is then checked by this library, by the PyPI
``standardwebhooks`` and ``svix`` packages, and by MAAC's published Python snippet. The
third-party libraries read the real clock, so this module's clock is the real time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks.webhooks
import svix.webhooks

from hookline.catalog import TOPICS
from hookline.devtools.fake import fake_data
from hookline.dispatch.worker import Worker
from hookline.receiver import (
    EVENT_TYPES,
    InvalidSignature,
    verify,
    verify_and_parse,
)
from hookline.services import deliveries, platforms, webhooks
from hookline.services.context import Context
from hookline.services.ingest import IncomingEvent, ingest_one
from tests.conftest import FakeClock
from tests.support.engine import ACTOR, make_worker
from tests.support.receiver import Received, Receiver


@pytest.fixture
def clock() -> FakeClock:
    """Real time, held still: the PyPI verifiers compare timestamps with time.time()."""
    return FakeClock(now=datetime.now(UTC))


@pytest.fixture
async def worker(ctx: Context) -> AsyncIterator[Worker]:
    w = make_worker(ctx)
    yield w
    await w.sender.close()


@dataclass
class Hook:
    ctx: Context
    platform_id: str
    webhook_id: str

    def secret(self) -> str:
        return webhooks.reveal_secret(self.ctx, self.platform_id, self.webhook_id, ACTOR)

    def publish(self, topic: str, data: dict[str, object]) -> None:
        ingest_one(self.ctx, IncomingEvent(platform_id=self.platform_id, topic=topic, data=data))


@pytest.fixture
def hook(ctx: Context, receiver: Receiver) -> Hook:
    """A platform with both zones and one webhook subscribed to every topic."""
    created = platforms.create_platform(ctx, "Coffee", timezone="Asia/Taipei")
    pid = created.platform.id
    for zone in (1, 2):
        platforms.set_zone(ctx, pid, zone, ctx.clock() + timedelta(days=365))
    webhook = webhooks.create_webhook(
        ctx, pid, name="all topics", url=receiver.url(), topics=sorted(TOPICS)
    )
    return Hook(ctx, pid, webhook.id)


def maac_snippet_verify(raw_body: bytes, signature: str, share_secret: str) -> bool:
    """MAAC's published Python check, as its docs show it.

    It re-serializes the parsed JSON with ``json.dumps`` defaults (spaces after ``,`` and
    ``:``, ``\\uXXXX`` escapes) before signing, which only works when the sender wrote
    the body exactly that way; hookline does.
    """
    payload = json.loads(raw_body)
    message = json.dumps(payload)
    expected = hmac.new(
        share_secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature)


def raw_body_verify(raw_body: bytes, signature: str, share_secret: str) -> bool:
    """The careful variant of MAAC's check: HMAC over the raw bytes as received."""
    expected = hmac.new(share_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def check_with_every_verifier(request: Received, secret: str) -> None:
    body, headers = request.body, request.headers
    assert verify(body, headers, secret).schemes == ("maac", "standard")
    assert standardwebhooks.webhooks.Webhook(secret).verify(body, headers) == json.loads(body)
    svix.webhooks.Webhook(secret).verify(body, headers)
    svix_named = {k.replace("webhook-", "svix-"): v for k, v in headers.items()}
    svix.webhooks.Webhook(secret).verify(body, svix_named)
    assert maac_snippet_verify(body, headers["CrescLab-Signature"], secret)
    assert raw_body_verify(body, headers["CrescLab-Signature"], secret)


async def test_every_topic_delivered_by_hookline_passes_every_verifier(
    hook: Hook, receiver: Receiver, worker: Worker
) -> None:
    rng = random.Random(2026)
    for topic in sorted(TOPICS):
        hook.publish(topic, dict(TOPICS[topic].sample))
        hook.publish(topic, fake_data(topic, rng))
    await worker.run_until_idle()

    received = receiver.received()
    assert len(received) == 2 * len(TOPICS)
    secret = hook.secret()
    for request in received:
        check_with_every_verifier(request, secret)
        event = verify_and_parse(request.body, request.headers, secret)
        assert type(event) is EVENT_TYPES[event.topic]
        assert event.idempotency_key == request.headers["CrescLab-Idempotency-Key"]
        assert event.is_test is False
    assert {json.loads(r.body)["topic"] for r in received} == set(TOPICS)


async def test_a_tampered_real_delivery_fails_every_verifier(
    hook: Hook, receiver: Receiver, worker: Worker
) -> None:
    hook.publish("prize.points_added", dict(TOPICS["prize.points_added"].sample))
    await worker.run_until_idle()
    (request,) = receiver.received()
    secret = hook.secret()
    tampered = request.body.replace(b'"points_count": 200', b'"points_count": 20000')
    assert tampered != request.body

    with pytest.raises(InvalidSignature):
        verify(tampered, request.headers, secret)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.webhooks.Webhook(secret).verify(tampered, request.headers)
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(secret).verify(tampered, request.headers)
    assert not maac_snippet_verify(tampered, request.headers["CrescLab-Signature"], secret)


@pytest.mark.parametrize("topic", sorted(TOPICS))
async def test_a_test_send_passes_every_verifier(
    hook: Hook, receiver: Receiver, worker: Worker, ctx: Context, topic: str
) -> None:
    sent = await deliveries.send_test(
        ctx, worker.sender.send, hook.platform_id, hook.webhook_id, topic
    )
    assert sent is not None
    (request,) = receiver.received()
    assert request.headers["CrescLab-Test"] == "true"
    secret = hook.secret()
    check_with_every_verifier(request, secret)
    event = verify_and_parse(request.body, request.headers, secret)
    assert type(event) is EVENT_TYPES[topic] and event.is_test is True
    assert event.model_dump(mode="json", by_alias=True)["data"] == TOPICS[topic].sample


async def test_delivery_during_a_rotation_grace_period(
    hook: Hook, receiver: Receiver, worker: Worker, ctx: Context
) -> None:
    old = hook.secret()
    new = webhooks.rotate_secret(
        ctx, hook.platform_id, hook.webhook_id, ACTOR, expire_old_after_seconds=3600
    )
    hook.publish("message.first_open", dict(TOPICS["message.first_open"].sample))
    await worker.run_until_idle()
    (request,) = receiver.received()
    body, headers = request.body, request.headers
    assert len(headers["webhook-signature"].split()) == 2

    # The new secret passes everywhere; the old one only where Standard Webhooks is used.
    check_with_every_verifier(request, new)
    standardwebhooks.webhooks.Webhook(old).verify(body, headers)
    svix.webhooks.Webhook(old).verify(body, headers)
    assert verify(body, headers, old, schemes={"standard"}).schemes == ("standard",)
    with pytest.raises(InvalidSignature):
        verify(body, headers, old)
    assert not maac_snippet_verify(body, headers["CrescLab-Signature"], old)
    # A receiver configured with both secrets passes both schemes.
    assert verify(body, headers, [old, new]).schemes == ("maac", "standard")
