"""The ``hookline`` command: serve, worker, migrate, simulate, listen, catalog, admin.

Only ``serve`` imports the web app, and only when it runs: ``hookline worker`` and
``hookline admin`` start without FastAPI. The ``admin`` tasks live in
``hookline.commands.admin``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from hookline.commands import demo as demo_setup
from hookline.commands.admin import admin
from hookline.commands.shared import (
    console,
    err,
    migrated_context,
    quiet_gc,
    setup_logging,
    warn_if_unvacuumed,
)
from hookline.commands.surveycake import simulate_surveycake
from hookline.config import Settings
from hookline.receiver import DEFAULT_TOLERANCE as DEFAULT_LISTEN_TOLERANCE

if TYPE_CHECKING:
    from hookline.devtools.simulate import SimulationReport
    from hookline.services.context import Context

app = typer.Typer(
    help="hookline: MAAC-compatible webhooks for LINE marketing.", no_args_is_help=True
)
app.add_typer(admin, name="admin")


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (serve does this on start too)."""
    from hookline.store.migrate import current_revision

    settings = Settings()
    ctx = migrated_context(settings)
    console.print(
        f"[green]database at revision[/green] {current_revision(ctx.db)} ({ctx.db.dialect})"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            show_default=False,
            help="Delivery worker processes to run and supervise (default: one per core,"
            f" {os.cpu_count() or 1} here); 0: one worker inside this process.",
        ),
    ] = None,
    no_worker: Annotated[
        bool,
        typer.Option("--no-worker", help="Run the API only; deliveries need `hookline worker`."),
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed a demo platform and allow loopback http URLs.")
    ] = False,
) -> None:
    """Migrate the database, then serve the API and the dashboard, and deliver events.

    SIGTERM or Ctrl-C: stop accepting requests, let every worker finish what is in
    flight (HOOKLINE_DRAIN_SECONDS), exit 0. A worker process that dies is restarted.
    """
    from hookline.commands.serve import run_server, start_delivery
    from hookline.metrics.multiproc import use_shared_dir

    if no_worker and workers:
        err.print("[red]error[/red]: --no-worker runs no worker; it cannot take --workers N")
        raise typer.Exit(2)
    setup_logging()
    settings = _serve_settings(demo)
    ctx = migrated_context(settings)
    warn_if_unvacuumed(ctx)
    use_shared_dir(
        settings.data_dir, owner=True
    )  # before the app loads the client; children inherit it
    from hookline.app import create_app

    creds = demo_setup.credentials(settings, ctx) if demo else None
    delivery = start_delivery(settings, workers, no_worker)
    try:
        if creds is not None:
            from hookline.commands import demo_line

            settings, line = demo_line.start_demo_line(settings, host, port)
            extra = demo_line.describe(line)
            demo_setup.print_panel(creds, f"http://{host}:{port}", delivery.describe(), extra)
            settings = demo_setup.with_tokens(settings, creds)
        else:
            console.print(f"[dim]delivery: {delivery.describe()}[/dim]")
        app_ = create_app(settings, ctx, embedded_worker=delivery.embedded, expect_workers=True)
        quiet_gc()
    except BaseException:
        delivery.stop()
        raise
    run_server(app_, host, port, delivery)


def _serve_settings(demo: bool) -> Settings:
    """Settings for ``serve``; ``--demo`` allows http and loopback URLs unless told not to."""
    from hookline.services.demo import LOOPBACK_NETWORKS

    if demo:
        os.environ.setdefault("HOOKLINE_ALLOW_HTTP", "true")
        os.environ.setdefault("HOOKLINE_ALLOW_PRIVATE_NETWORKS", LOOPBACK_NETWORKS)
    return Settings()


def _metrics_page_token(settings: Settings, port: int | None) -> str | None:
    """The token of ``worker --metrics-port``'s page; no page without a port."""
    if port is None:
        return None
    if not settings.metrics_token:
        err.print("[red]error[/red]: --metrics-port needs HOOKLINE_METRICS_TOKEN")
        raise typer.Exit(2)
    return settings.metrics_token.get_secret_value()


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Requests in flight (default HOOKLINE_WORKER_CONCURRENCY).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Also answer GET /metrics on this port (machines without `serve`);"
            " needs HOOKLINE_METRICS_TOKEN."
        ),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address of --metrics-port.")] = "127.0.0.1",
) -> None:
    """Deliver events: claim due deliveries from the shared database and send them.

    Run as many as you like, on any machine sharing the PostgreSQL database (or on
    this machine sharing the SQLite file). SIGTERM or Ctrl-C stops claiming, lets the
    requests in flight finish within HOOKLINE_DRAIN_SECONDS, gives the rest back to
    the queue and exits 0. `hookline serve` runs this same command as its workers.
    """
    import asyncio

    from hookline.metrics.multiproc import use_shared_dir
    from hookline.supervisor import PARENT_FD_ENV

    setup_logging()
    settings = Settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    token = _metrics_page_token(settings, metrics_port)
    if settings.worker_nice:
        os.nice(settings.worker_nice)
    ctx = migrated_context(settings)
    if PARENT_FD_ENV not in os.environ:  # serve's own workers leave the warning to serve
        warn_if_unvacuumed(ctx)
    use_shared_dir(settings.data_dir, owner=False)  # serve's /metrics sums this worker's counts

    asyncio.run(_work(settings, ctx, token, metrics_host, metrics_port))


async def _work(
    settings: Settings, ctx: Context, token: str | None, metrics_host: str, metrics_port: int | None
) -> None:
    """One worker process: drains on SIGTERM, SIGINT or when its ``serve`` is gone."""
    import asyncio
    import logging
    import signal

    from hookline.bootstrap import build_worker, wake_listener, worker_companions
    from hookline.dispatch.runner import run_worker
    from hookline.metrics import worker_page  # after use_shared_dir: it loads the client
    from hookline.supervisor import watch_parent

    log = logging.getLogger("hookline.worker")
    drain_for = settings.drain_seconds
    quiet_gc()
    page = await worker_page.start(metrics_host, metrics_port, token) if token else None
    the_worker = build_worker(settings, ctx)
    loop = asyncio.get_running_loop()

    def drain(why: str) -> None:
        log.info("worker %s: %s; draining (up to %g s)", the_worker.name, why, drain_for)
        the_worker.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, drain, sig.name)
    # under serve: stop when serve is gone, however it died
    watch_parent(loop, lambda: drain("its hookline serve is gone"))
    console.print(
        f"[green]worker[/green] {the_worker.name} on {ctx.db.dialect}"
        f" ({settings.worker_concurrency} in flight, {settings.webhook_concurrency} per"
        " webhook)"
    )
    try:
        companions = worker_companions(settings, ctx, the_worker)
        await run_worker(the_worker, wake_listener(settings), companions)
    finally:
        await the_worker.sender.close()
        if page is not None:
            await page.cleanup()
    console.print(f"worker stopped after {the_worker.sent} attempts")


simulate_app = typer.Typer(help="Rehearse producers: random events, or a SurveyCake survey.")
app.add_typer(simulate_app, name="simulate")
simulate_app.command("surveycake")(simulate_surveycake)


@simulate_app.callback(invoke_without_command=True)
def simulate(
    context: typer.Context,
    platform: Annotated[
        str | None, typer.Option(help="Platform id the events belong to.", show_default=False)
    ] = None,
    topic: Annotated[
        str | None, typer.Option(help="Event topic; default: a random topic per event.")
    ] = None,
    rate: Annotated[float, typer.Option(help="Events per second.")] = 10.0,
    count: Annotated[int, typer.Option(help="How many events to publish.")] = 100,
    url: Annotated[str, typer.Option(help="Base URL of hookline.")] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None,
        typer.Option(help="Ingest token (default: $HOOKLINE_INGEST_TOKEN).", show_default=False),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Most events per request.")] = 100,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible data.")] = None,
) -> None:
    """Publish realistic, schema-valid random events through the ingest API
    (`hookline simulate surveycake`: a SurveyCake survey instead)."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from hookline.devtools.simulate import SimulationError
    from hookline.devtools.simulate import simulate as run_simulation

    if context.invoked_subcommand is not None:
        return
    platform, ingest_token = _simulation_target(platform, token)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("publishing", total=count)
        try:
            report = asyncio.run(
                run_simulation(
                    base_url=url.rstrip("/"),
                    token=ingest_token,
                    platform_id=platform,
                    topic=topic,
                    rate=rate,
                    count=count,
                    batch_size=batch_size,
                    seed=seed,
                    on_progress=lambda done, _total: progress.update(task, completed=done),
                )
            )
        except (SimulationError, ValueError) as exc:
            err.print(f"[red]error[/red]: {exc}")
            raise typer.Exit(1) from None
    _print_simulation(report)


def _simulation_target(platform: str | None, token: str | None) -> tuple[str, str]:
    """The platform and the ingest token, or a usage error naming what is missing."""
    if platform is None:
        err.print("[red]error[/red]: give --platform (the platform id the events belong to)")
        raise typer.Exit(2)
    ingest_token = token or os.environ.get("HOOKLINE_INGEST_TOKEN")
    if not ingest_token:
        err.print("[red]error[/red]: give --token or set HOOKLINE_INGEST_TOKEN")
        raise typer.Exit(2)
    return platform, ingest_token


def _print_simulation(report: SimulationReport) -> None:
    console.print(
        f"sent {report.sent}, accepted {report.accepted}, rejected {report.rejected},"
        f" {report.deliveries} deliveries created, {report.seconds:.1f} s"
    )
    for message in report.errors:
        err.print(f"[yellow]rejected[/yellow]: {message}")
    if report.rejected:
        raise typer.Exit(1)


catalog = typer.Typer(help="The event catalog: generated reference docs and JSON Schemas.")
app.add_typer(catalog, name="catalog")


@catalog.command("export")
def catalog_export(
    out: Annotated[
        str, typer.Option(help="Repository root: writes docs/events/ and schemas/ under it.")
    ] = ".",
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 listing files that differ.")
    ] = False,
) -> None:
    """Generate docs/events/*.md and schemas/*.json from the catalog (deterministic)."""
    from pathlib import Path

    from hookline.devtools.catalog_export import export, print_results

    results = export(Path(out), check=check)
    if not print_results(results, console, check=check):
        raise typer.Exit(1)


@app.command()
def listen(
    secret: Annotated[
        list[str],
        typer.Option(
            envvar="HOOKLINE_LISTEN_SECRET",
            help="The webhook's share secret (whsec_...); repeat it for old and new during"
            " a rotation.",
        ),
    ],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    forward_to: Annotated[
        str | None,
        typer.Option(help="Also send verified requests (same body and headers) to this URL."),
    ] = None,
    fail_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of requests answered 500, to rehearse retries."),
    ] = 0.0,
    tolerance: Annotated[
        int, typer.Option(help="Seconds webhook-timestamp may differ from this clock.")
    ] = DEFAULT_LISTEN_TOLERANCE,
) -> None:
    """Receive webhooks locally: verify, print and answer each request (Ctrl-C stops)."""
    from hookline.devtools.listen import Listener, serve_forever

    try:
        listener = Listener(secret, tolerance=tolerance, fail_rate=fail_rate, forward_to=forward_to)
    except ValueError as exc:
        err.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(2) from None
    serve_forever(listener, host=host, port=port, console=console)


def main() -> None:
    app()
