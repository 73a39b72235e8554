"""The composition root without a web framework: context, sender, worker.

``hookline worker`` and ``hookline admin`` start from here and never import FastAPI;
``hookline.app`` builds the ASGI app on top of the same functions. Everything a use
case needs is decided once, here, and handed down: nothing below rewires it later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from hookline.config import Settings
from hookline.dispatch.sender import Sender
from hookline.dispatch.wakeup import notify_sqlite_workers, sqlite_wake_dir
from hookline.dispatch.worker import Worker, WorkerSettings
from hookline.domain.secrets import SecretBox, load_or_create_key_file
from hookline.services.context import Context
from hookline.store import create_database

RESEND_LEASE_MARGIN = 5.0
"""Seconds a resend's lease outlives its send timeout (it settles right after)."""

log = logging.getLogger(__name__)


class WakeFanOut:
    """Every waker of this process, called after a commit made deliveries due.

    The context holds one fan-out from the start; an embedded worker registers with it
    before the app serves, so ``Context.wake_workers`` is never rewritten at runtime.
    """

    def __init__(self, *wakers: Callable[[], None]) -> None:
        self._wakers = list(wakers)

    def register(self, waker: Callable[[], None]) -> None:
        self._wakers.append(waker)

    def __call__(self) -> None:
        for waker in self._wakers:
            try:
                waker()
            except Exception:  # the commit stands; a missed wake-up costs one poll interval
                log.exception("a worker wake-up failed; it will find the work at its next poll")


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key.get_secret_value()
    return load_or_create_key_file(settings.key_file)


def build_context(settings: Settings) -> Context:
    """The database, the secret key and the URL policy, with this process's wake-ups.

    SQLite workers in other processes are woken through their sockets; an embedded
    worker registers with the same fan-out (``with_fan_out``).
    """
    wakeups = WakeFanOut()
    wake_dir = sqlite_wake_dir(settings.sqlalchemy_url)
    if wake_dir is not None:
        wakeups.register(lambda: notify_sqlite_workers(wake_dir))
    return Context(
        db=create_database(settings.sqlalchemy_url),
        box=SecretBox(_secret_key(settings)),
        allow_http=settings.allow_http,
        allowed_networks=settings.allowed_networks,
        failing_period=timedelta(days=settings.failing_days),
        wake_workers=wakeups,
        resend_lease=timedelta(seconds=settings.send_timeout + RESEND_LEASE_MARGIN),
        worker_dead_after=timedelta(seconds=settings.worker_dead_after),
    )


def with_fan_out(ctx: Context) -> tuple[Context, WakeFanOut]:
    """``ctx`` itself when built here; a caller's own context gets a fan-out copy."""
    if isinstance(ctx.wake_workers, WakeFanOut):
        return ctx, ctx.wake_workers
    wakeups = WakeFanOut(ctx.wake_workers)
    return replace(ctx, wake_workers=wakeups), wakeups


def build_sender(settings: Settings, ctx: Context) -> Sender:
    """The context's URL policy decides at send time, as it did when the URL was saved."""
    return Sender(
        allowed_networks=ctx.allowed_networks,
        connect_timeout=settings.connect_timeout,
        total_timeout=settings.send_timeout,
    )


def worker_settings(settings: Settings) -> WorkerSettings:
    return WorkerSettings(
        concurrency=settings.worker_concurrency,
        per_webhook_cap=settings.webhook_concurrency,
        lease_seconds=settings.lease_seconds,
        poll_interval=settings.poll_interval,
        shutdown_timeout=settings.send_timeout + 1,
        dead_after=settings.worker_dead_after,
        retention=timedelta(days=settings.retention_days),
    )


def build_worker(settings: Settings, ctx: Context) -> Worker:
    """A worker with its own sender (closed by whoever runs it: ``worker.sender``)."""
    return Worker(
        queue=ctx.queue,
        sender=build_sender(settings, ctx),
        decrypt=ctx.box.decrypt,
        settings=worker_settings(settings),
        clock=ctx.clock,
    )
