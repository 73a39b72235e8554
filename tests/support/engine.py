"""Helpers for delivery-engine tests: a platform with webhooks, a worker, reading rows."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hookline.catalog import TOPICS
from hookline.dispatch.sender import Sender
from hookline.dispatch.settings import WorkerSettings
from hookline.dispatch.worker import Worker
from hookline.domain.models import Actor
from hookline.domain.networks import IPNetwork
from hookline.services import platforms, webhooks
from hookline.services.context import Context
from hookline.services.ingest import IncomingEvent, Ingested, ingest_one
from hookline.store.tables import attempts, deliveries

TOPIC = "receipt.receipt_validated"
SAMPLE: dict[str, Any] = dict(TOPICS[TOPIC].sample)
ACTOR = Actor(kind="operator", id="test")


@dataclass
class Setup:
    ctx: Context
    platform_id: str
    webhook_ids: list[str]

    def secret(self, webhook_id: str | None = None) -> str:
        return webhooks.reveal_secret(
            self.ctx, self.platform_id, webhook_id or self.webhook_ids[0], ACTOR
        )

    def publish(self, data: dict[str, Any] | None = None, **kwargs: Any) -> Ingested:
        return ingest_one(
            self.ctx,
            IncomingEvent(platform_id=self.platform_id, topic=TOPIC, data=data or SAMPLE, **kwargs),
        )

    def deliveries(self, **where: Any) -> list[Any]:
        query = select(deliveries).order_by(deliveries.c.id)
        for column, value in where.items():
            query = query.where(deliveries.c[column] == value)
        with self.ctx.db.read() as conn:
            return list(conn.execute(query).all())

    def attempts(self, delivery_id: str) -> list[Any]:
        with self.ctx.db.read() as conn:
            return list(
                conn.execute(
                    select(attempts)
                    .where(attempts.c.delivery_id == delivery_id)
                    .order_by(attempts.c.id)
                ).all()
            )


def make_setup(ctx: Context, urls: list[str], *, timezone: str = "Asia/Taipei") -> Setup:
    created = platforms.create_platform(ctx, "Coffee", timezone=timezone)
    pid = created.platform.id
    platforms.set_zone(ctx, pid, 1, ctx.clock() + timedelta(days=365))
    ids = [
        webhooks.create_webhook(ctx, pid, name=f"hook {i}", url=url, topics=[TOPIC]).id
        for i, url in enumerate(urls)
    ]
    return Setup(ctx, pid, ids)


def make_worker(
    ctx: Context,
    *,
    allowed: tuple[IPNetwork, ...] | None = None,
    total_timeout: float = 5.0,
    seed: int = 7,
    **settings: Any,
) -> Worker:
    sender = Sender(
        allowed_networks=ctx.allowed_networks if allowed is None else allowed,
        total_timeout=total_timeout,
        connect_timeout=min(total_timeout, 5.0),
    )
    return Worker(
        queue=ctx.queue,
        sender=sender,
        decrypt=ctx.box.decrypt,
        settings=WorkerSettings(**settings),
        clock=ctx.clock,
        rng=random.Random(seed),
    )
