"""The composition root without a web framework: context, sender, worker.

``hookline worker`` and ``hookline admin`` start from here and never import FastAPI;
``hookline.app`` builds the ASGI app on top of the same functions. Everything a use
case needs is decided once, here, and handed down: nothing below rewires it later.
"""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from hookline.config import Settings
from hookline.dispatch.alerts import Alerts
from hookline.dispatch.line import LineGateway
from hookline.dispatch.mailer import Mailer
from hookline.dispatch.runner import Companion
from hookline.dispatch.sender import Sender
from hookline.dispatch.settings import WorkerSettings
from hookline.dispatch.surveycake_fetch import SurveyCakeFetcher
from hookline.dispatch.wakeup import (
    Listen,
    notify_sqlite_workers,
    poll_only,
    postgres_listener,
    sqlite_wake_dir,
)
from hookline.dispatch.worker import Worker
from hookline.domain.secrets import SecretBox, load_or_create_key_file
from hookline.domain.smtp import parse_smtp_url
from hookline.services import keys
from hookline.services.context import Context
from hookline.services.surveycake_job import JobSettings, SurveyCakeJob
from hookline.store import Database, create_database

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


def key_source(settings: Settings) -> str:
    """Where the key comes from, as the operator configured it (for messages)."""
    if settings.secret_key:
        return "HOOKLINE_SECRET_KEY"
    return f"the key file {settings.key_file}"


def _secret_key(settings: Settings, db: Database) -> str:
    """The configured key; a key file is created only while nothing is sealed yet.

    A new key cannot open secrets sealed with a lost one: creating it would only turn
    a clear start-up error into failing deliveries.
    """
    if settings.secret_key:
        return settings.secret_key.get_secret_value()
    path = settings.key_file
    if not path.exists() and keys.has_sealed_values(db):
        interrupted = path.with_name(path.name + ".new")
        hint = (
            f" {interrupted} exists: a key rotation was interrupted, and that file may hold"
            " the key the secrets are sealed with now."
            if interrupted.exists()
            else ""
        )
        raise keys.SecretKeyUnusable(
            f"hookline will not start: the key file {path} is missing, but the database holds"
            " webhook secrets sealed with a key, so no new key was made (it could not open"
            " them). Put the key file back (mode 0600), or set HOOKLINE_SECRET_KEY to the key"
            f" the secrets were sealed with.{hint}"
        )
    return load_or_create_key_file(path)


def narrow_data_dir(settings: Settings) -> None:
    """Take group and other access away from hookline's own data directory and key file.

    New ones are created private; this narrows those an older version or an operator
    made open. A directory holding neither the database nor the key is not hookline's
    alone, so it is left as it is.
    """
    data_dir = settings.data_dir
    ours = [p for p in (settings.key_file, data_dir / "hookline.db") if p.exists()]
    for path in [data_dir, *ours] if ours else []:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("narrowing %s from %o to %o", path, mode, mode & ~0o077)
            path.chmod(mode & ~0o077)


def open_database(settings: Settings) -> Database:
    """The configured database, told whether a transaction pooler sits in front of it."""
    return create_database(settings.sqlalchemy_url, transaction_pooled=settings.transaction_pooled)


def wake_listener(settings: Settings) -> Listen | None:
    """How this process's worker hears of work ingested elsewhere; None: the default.

    The default LISTENs on the main database (PostgreSQL) or binds a socket (SQLite).
    Behind a transaction pooler LISTEN needs the direct ``HOOKLINE_LISTEN_DATABASE_URL``;
    without it the worker polls, which is said once here, at start.
    """
    if settings.listen_database_url:
        return postgres_listener(settings.listen_database_url)
    if settings.transaction_pooled:
        log.warning(
            "HOOKLINE_DATABASE_POOLER=transaction and no HOOKLINE_LISTEN_DATABASE_URL: no"
            " LISTEN, so this worker finds deliveries other processes ingest by polling every %g s",
            settings.poll_interval,
        )
        return poll_only
    return None


def build_context(settings: Settings) -> Context:
    """The database, the secret key and the URL policy, with this process's wake-ups.

    The key must open the secrets the database holds (``keys.check_key``): a process
    with the wrong key refuses to start rather than fail every delivery. SQLite workers
    in other processes are woken through their sockets; an embedded worker registers
    with the same fan-out (``with_fan_out``).
    """
    wakeups = WakeFanOut()
    wake_dir = sqlite_wake_dir(settings.sqlalchemy_url)
    if wake_dir is not None:
        wakeups.register(lambda: notify_sqlite_workers(wake_dir))
    narrow_data_dir(settings)
    db = open_database(settings)
    box = SecretBox(_secret_key(settings, db))
    keys.check_key(db, box, key_source(settings))
    return Context(
        db=db,
        box=box,
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
        proxy=settings.egress_proxy,
    )


def build_line_gateway(settings: Settings, ctx: Context) -> LineGateway:
    """LINE's API at the configured base; images through the send-time SSRF guard."""
    return LineGateway(
        settings.line_api_base,
        allowed_networks=tuple(ctx.allowed_networks),
        timeout=settings.send_timeout,
    )


def worker_settings(settings: Settings) -> WorkerSettings:
    return WorkerSettings(
        concurrency=settings.worker_concurrency,
        per_webhook_cap=settings.webhook_concurrency,
        lease_seconds=settings.lease_seconds,
        poll_interval=settings.poll_interval,
        shutdown_timeout=settings.drain_seconds,
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


def build_alerts(settings: Settings, ctx: Context, worker: Worker) -> Alerts:
    """The alerts pass that runs beside ``worker``, sending through its sender."""
    mailer = None
    if settings.smtp_url is not None:
        mailer = Mailer(parse_smtp_url(settings.smtp_url.get_secret_value(), settings.smtp_from))
    return Alerts(
        ctx.db,
        transport=worker.sender,
        decrypt=ctx.box.decrypt,
        clock=ctx.clock,
        mailer=mailer,
        interval=settings.alerts_interval,
    )


def worker_companions(settings: Settings, ctx: Context, worker: Worker) -> list[Companion]:
    """What runs beside every worker: the alerts pass (docs/alerts.md) and the SurveyCake
    intake job (docs/surveycake.md)."""
    alerts = build_alerts(settings, ctx, worker)
    fetcher = SurveyCakeFetcher(
        allowed_networks=ctx.allowed_networks,
        connect_timeout=settings.connect_timeout,
        total_timeout=settings.send_timeout,
    )
    job_settings = JobSettings(
        lease_seconds=settings.lease_seconds,
        poll_interval=settings.poll_interval,
        retention=timedelta(days=settings.retention_days),
        dead_after=timedelta(seconds=settings.worker_dead_after),
    )
    job = SurveyCakeJob(ctx, fetcher, name=worker.name, settings=job_settings)

    async def surveycake(stop: asyncio.Event) -> None:
        try:
            await job.run(stop)
        finally:
            await fetcher.close()

    return [alerts.run, surveycake]
