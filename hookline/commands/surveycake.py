"""``hookline simulate surveycake``: the demo survey, answered on a fake SurveyCake."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hookline.commands.shared import console, err

if TYPE_CHECKING:
    from hookline.devtools.simulate_surveycake import SurveyCakeReport


def simulate_surveycake(
    url: Annotated[str, typer.Option(help="Base URL of hookline.")] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None,
        typer.Option(
            help="The platform's API token (default: $HOOKLINE_API_TOKEN).", show_default=False
        ),
    ] = None,
    count: Annotated[int, typer.Option(min=1, max=100, help="How many answers to submit.")] = 1,
    line_uid: Annotated[
        str,
        typer.Option(help="The LINE friend in the answers; '' submits answers linked to none."),
    ] = "U8934fa6cfd94060d8efeb32867d9715d",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for hookline.")] = 60.0,
) -> None:
    """Answer a demo survey on a fake SurveyCake; wait for its form.surveycake_submitted.

    Connects the demo survey (its SurveyCake is a fake on loopback), submits answers,
    notifies the intake URL and waits until hookline fetched, decrypted and published
    each one (docs/surveycake.md). hookline must allow loopback URLs, as
    `hookline serve --demo` does.
    """
    import asyncio

    from hookline.devtools.simulate_surveycake import (
        SurveyCakeSimulationError,
        simulate_surveycake,
    )

    api_token = token or os.environ.get("HOOKLINE_API_TOKEN")
    if not api_token:
        err.print(
            "[red]error[/red]: give --token (the platform's API token) or set HOOKLINE_API_TOKEN"
        )
        raise typer.Exit(2)
    try:
        report = asyncio.run(
            simulate_surveycake(
                base_url=url,
                token=api_token,
                count=count,
                line_uid=line_uid or None,
                timeout=timeout,
                on_sent=lambda h: console.print(f"SurveyCake notified hookline of answer {h}"),
            )
        )
    except SurveyCakeSimulationError as exc:
        err.print(f"[red]error[/red]: {escape(str(exc))}")
        raise typer.Exit(1) from None
    _print_report(report)


def _print_report(report: SurveyCakeReport) -> None:
    for outcome in report.outcomes:
        what = outcome.event_id if outcome.state == "published" else outcome.detail
        console.print(
            f"answer {outcome.answer_hash}: [bold]{outcome.state}[/bold] {escape(what or '')}"
        )
    if not report.subscribed:
        err.print(
            "[yellow]note[/yellow]: no working webhook listens to form.surveycake_submitted;"
            " create one (for example to `hookline listen`) to receive the events."
        )
    if any(o.state == "failed" for o in report.outcomes):
        raise typer.Exit(1)
