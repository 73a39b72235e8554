"""The ``hookline`` command: serve, migrate, and operator tasks (admin ...)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from hookline import __version__
from hookline.config import Settings
from hookline.domain.errors import HooklineError
from hookline.receiver import DEFAULT_TOLERANCE as DEFAULT_LISTEN_TOLERANCE
from hookline.services.context import Context

app = typer.Typer(
    help="hookline: MAAC-compatible webhooks for LINE marketing.", no_args_is_help=True
)
admin = typer.Typer(help="Operator tasks on the database this machine is configured for.")
app.add_typer(admin, name="admin")
console = Console()
err = Console(stderr=True)


@contextmanager
def _clean_errors() -> Iterator[None]:
    """Turn rule violations into one red line and exit 1, not a traceback."""
    try:
        yield
    except HooklineError as exc:
        err.print(f"[red]error[/red] [bold]{exc.code}[/bold]: {exc.message}")
        raise typer.Exit(1) from None


def _migrated_context(settings: Settings) -> Context:
    from hookline.api import build_context
    from hookline.store.migrate import upgrade

    ctx = build_context(settings)
    upgrade(ctx.db)
    return ctx


def _quiet_gc() -> None:
    """Fewer, shorter garbage collections in the long-running processes.

    Start-up objects (SQLAlchemy, schemas, routes) are frozen out of collection, and
    the young generation is collected less often: a full collection of a big heap
    paused deliveries for 100 ms or more in the benchmark's steady phase.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (serve does this on start too)."""
    from hookline.store.migrate import current_revision

    settings = Settings()
    ctx = _migrated_context(settings)
    console.print(
        f"[green]database at revision[/green] {current_revision(ctx.db)} ({ctx.db.dialect})"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_worker: Annotated[
        bool,
        typer.Option("--no-worker", help="Run the API only; deliveries need `hookline worker`."),
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed a demo platform and allow loopback http URLs.")
    ] = False,
) -> None:
    """Migrate the database, then serve the API (and, later, the dashboard and worker)."""
    import uvicorn

    from hookline.api import create_app
    from hookline.services.demo import LOOPBACK_NETWORKS, ensure_demo

    if demo:
        os.environ.setdefault("HOOKLINE_ALLOW_HTTP", "true")
        os.environ.setdefault("HOOKLINE_ALLOW_PRIVATE_NETWORKS", LOOPBACK_NETWORKS)
    settings = Settings()
    ctx = _migrated_context(settings)
    if demo:
        op_token = settings.operator_token.get_secret_value() if settings.operator_token else None
        in_token = settings.ingest_token.get_secret_value() if settings.ingest_token else None
        creds = ensure_demo(ctx, settings.data_dir, op_token, in_token)
        settings = settings.model_copy(
            update={
                "operator_token": SecretStr(creds.operator_token),
                "ingest_token": SecretStr(creds.ingest_token),
            }
        )
        base = f"http://{host}:{port}"
        console.print(
            Panel.fit(
                f"[bold]hookline {__version__}[/bold] demo\n"
                f"API docs:        {base}/docs\n"
                f"Dashboard:       {base}/\n"
                f"Member login:    {creds.member_email}  password: {creds.member_password}\n"
                f"Operator login:  {creds.operator_email}  password: {creds.operator_password}\n"
                f"Platform id:     {creds.platform_id}\n"
                f"API token:       {creds.api_token}\n"
                f"Operator token:  {creds.operator_token}\n"
                f"Ingest token:    {creds.ingest_token}",
                title="hookline is running",
            )
        )
        # outside the panel, so the line copies whole whatever the terminal width
        console.print(
            f"Try: curl -H 'Authorization: Bearer {creds.api_token}' {base}/v1/platform",
            soft_wrap=True,
        )
        console.print(
            f"Events: hookline simulate --url {base} --token {creds.ingest_token}"
            f" --platform {creds.platform_id} --rate 5 --count 50",
            soft_wrap=True,
        )
    worker_note = "off (--no-worker): run `hookline worker`" if no_worker else "embedded"
    console.print(f"[dim]delivery worker: {worker_note}[/dim]")
    app_ = create_app(settings, ctx, embedded_worker=not no_worker)
    _quiet_gc()
    uvicorn.run(app_, host=host, port=port, log_level="info")


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Requests in flight (default HOOKLINE_WORKER_CONCURRENCY).")
    ] = None,
) -> None:
    """Deliver events: claim due deliveries from the shared database and send them.

    Run as many as you like, on any machine sharing the PostgreSQL database (or on
    this machine sharing the SQLite file). SIGTERM or Ctrl-C stops claiming, lets the
    requests in flight finish (or releases them) and exits 0.
    """
    import asyncio
    import logging
    import signal

    from hookline.dispatch.runner import build_sender, run_worker, worker_settings
    from hookline.dispatch.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    ctx = _migrated_context(settings)

    async def main() -> None:
        _quiet_gc()
        sender = build_sender(settings, ctx)
        the_worker = Worker(ctx, sender, worker_settings(settings))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, the_worker.stop)
        console.print(
            f"[green]worker[/green] {the_worker.name} on {ctx.db.dialect}"
            f" ({settings.worker_concurrency} in flight, {settings.webhook_concurrency} per"
            " webhook)"
        )
        try:
            await run_worker(the_worker)
        finally:
            await sender.close()
        console.print(f"worker stopped after {the_worker.sent} attempts")

    asyncio.run(main())


@app.command()
def simulate(
    platform: Annotated[str, typer.Option(help="Platform id the events belong to.")],
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
    """Publish realistic, schema-valid random events through the ingest API."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from hookline.devtools.simulate import SimulationError
    from hookline.devtools.simulate import simulate as run_simulation

    ingest_token = token or os.environ.get("HOOKLINE_INGEST_TOKEN")
    if not ingest_token:
        err.print("[red]error[/red]: give --token or set HOOKLINE_INGEST_TOKEN")
        raise typer.Exit(2)
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
    console.print(
        f"sent {report.sent}, accepted {report.accepted}, rejected {report.rejected},"
        f" {report.deliveries} deliveries created, {report.seconds:.1f} s"
    )
    for message in report.errors:
        err.print(f"[yellow]rejected[/yellow]: {message}")
    if report.rejected:
        raise typer.Exit(1)


def _admin_context() -> Context:
    return _migrated_context(Settings())


@admin.command("create-platform")
def create_platform(
    name: Annotated[str, typer.Option(help="Platform (LINE official account) name.")],
    timezone: Annotated[
        str, typer.Option(help="IANA time zone of event timestamps.")
    ] = "Asia/Taipei",
    webhook_limit: Annotated[int, typer.Option(help="Working webhooks allowed.")] = 3,
) -> None:
    """Create a platform and print its first API token (shown once)."""
    from hookline.services import platforms

    with _clean_errors():
        created = platforms.create_platform(_admin_context(), name, timezone, webhook_limit)
    table = Table(show_header=False)
    table.add_row("platform id", created.platform.id)
    table.add_row("name", created.platform.name)
    table.add_row("timezone", created.platform.timezone)
    table.add_row("webhook limit", str(created.platform.webhook_limit))
    table.add_row("API token (shown once)", created.api_token)
    console.print(table)


@admin.command("grant-zone")
def grant_zone(
    platform_id: Annotated[str, typer.Argument(help="The platform's id (pf_...).")],
    zone: Annotated[int, typer.Argument(help="Zone number: 1 or 2.")],
    until: Annotated[
        datetime | None, typer.Option(help="Purchase valid until (UTC if no offset given).")
    ] = None,
    days: Annotated[int, typer.Option(help="Valid for this many days from now.")] = 365,
) -> None:
    """Record a zone purchase and its valid-until date."""
    from hookline.services import platforms

    valid_until = (
        (until.replace(tzinfo=until.tzinfo or UTC))
        if until
        else (datetime.now(UTC) + timedelta(days=days))
    )
    with _clean_errors():
        platforms.set_zone(_admin_context(), platform_id, zone, valid_until)
    console.print(
        f"[green]zone {zone}[/green] of {platform_id} valid until {valid_until.isoformat()}"
    )


@admin.command("set-limit")
def set_limit(
    platform_id: Annotated[str, typer.Argument(help="The platform's id (pf_...).")],
    limit: Annotated[int, typer.Argument(help="Working webhooks allowed.")],
) -> None:
    """Change how many working webhooks a platform may have."""
    from hookline.services import platforms

    with _clean_errors():
        platforms.update_platform(_admin_context(), platform_id, webhook_limit=limit)
    console.print(f"[green]webhook limit[/green] of {platform_id} is now {limit}")


@admin.command("create-token")
def create_token(
    platform_id: Annotated[str, typer.Argument(help="The platform's id (pf_...).")],
) -> None:
    """Create another API token for a platform (shown once)."""
    from hookline.services import platforms

    with _clean_errors():
        token_id, token = platforms.create_token(_admin_context(), platform_id)
    console.print(f"token id {token_id}\nAPI token (shown once): [bold]{token}[/bold]")


@admin.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Login email (stored lower-cased).")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="10 to 1024 characters; asked for when not given (keeps it out of history).",
        ),
    ],
    role: Annotated[
        str, typer.Option(help="member (one platform) or operator (every platform).")
    ] = "member",
    platform: Annotated[
        str | None, typer.Option(help="The member's platform id (pf_...); none for operators.")
    ] = None,
) -> None:
    """Create a dashboard login: a platform member, or an operator."""
    from hookline.services import users

    with _clean_errors():
        user = users.create_user(
            _admin_context(), email=email, password=password, role=role, platform_id=platform
        )
    table = Table(show_header=False)
    table.add_row("user id", user.id)
    table.add_row("email", user.email)
    table.add_row("role", user.role.value)
    table.add_row("platform", user.platform_id or "- (operator: every platform)")
    console.print(table)


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
