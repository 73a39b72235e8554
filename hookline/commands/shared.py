"""What the commands share: consoles, logging, clean errors, a migrated context, quiet GC."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from hookline.config import Settings
from hookline.domain.errors import HooklineError
from hookline.services.context import Context

console = Console()
err = Console(stderr=True)


@contextmanager
def clean_errors() -> Iterator[None]:
    """Turn rule violations into one red line and exit 1, not a traceback."""
    try:
        yield
    except HooklineError as exc:
        err.print(f"[red]error[/red] [bold]{exc.code}[/bold]: {escape(exc.message)}")
        raise typer.Exit(1) from None


def migrated_context(settings: Settings) -> Context:
    from hookline.bootstrap import build_context
    from hookline.store.migrate import upgrade

    with clean_errors():  # a key that cannot open the stored secrets: one message, exit 1
        ctx = build_context(settings)
    upgrade(ctx.db)
    return ctx


def warn_if_unvacuumed(ctx: Context) -> None:
    """One warning line at start when PostgreSQL's autovacuum is off (docs/deploying.md)."""
    import logging

    try:
        off = ctx.db.autovacuum_off()
    except Exception:  # a start-up hint only: the database's own errors come soon enough
        return
    if off:
        logging.getLogger("hookline").warning(
            "PostgreSQL's autovacuum is off: dead rows of claims and settles pile up in the"
            " deliveries table and every claim gets slower; turn it on (autovacuum = on,"
            " PostgreSQL's default) or VACUUM the deliveries table every few minutes"
        )


def setup_logging() -> None:
    """hookline's own INFO lines (workers started, stopped, restarted) on stderr.

    Alembic's INFO lines are left out: every worker process checks the schema at its
    start, and a line per plugin per process would bury what matters.
    """
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def quiet_gc() -> None:
    """Fewer, shorter garbage collections in the long-running processes.

    Start-up objects (SQLAlchemy, schemas, routes) are frozen out of collection, and
    the young generation is collected less often: a full collection of a big heap
    paused deliveries for 100 ms or more in the benchmark's steady phase.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
