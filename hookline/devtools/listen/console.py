"""How ``hookline listen`` prints an exchange: verdict line, facts, pretty JSON body."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console, Group, RenderableType
from rich.json import JSON
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from hookline.devtools.listen.exchange import Exchange, Forwarded

SHOWN_BODY_BYTES = 64 * 1024


class ConsolePrinter:
    """Prints each exchange as a block: verdict line, facts, pretty JSON body."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, exchange: Exchange) -> None:
        self.console.print(render_exchange(exchange))


_SCHEME_HEADERS = {"maac": "CrescLab-Signature", "standard": "webhook-signature"}


def _clock_time(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S.%f")[:-3]


def render_exchange(exchange: Exchange) -> RenderableType:
    """The readable form of one exchange, as ``hookline listen`` prints it."""
    status_style = "green" if 200 <= exchange.status < 300 else "red"
    title = Text.assemble(
        (_clock_time(exchange.received_at), "dim"),
        f"  {exchange.method} {exchange.path}  → ",
        (str(exchange.status), f"bold {status_style}"),
    )
    verdict = (
        Text.assemble(
            ("✓ verified", "bold green"),
            f" ({', '.join(_SCHEME_HEADERS.get(s, s) for s in exchange.verified_by)})",
        )
        if exchange.verified
        else Text(f"✗ {exchange.failure_code}: {exchange.failure}", style="bold red")
    )
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("verdict", verdict)
    facts.add_row("topic", exchange.topic or "(no topic)")
    facts.add_row("idempotency key", exchange.idempotency_key or "(none)")
    facts.add_row("test", "yes (CrescLab-Test: true)" if exchange.test else "no")
    if exchange.duplicate_of is not None:
        facts.add_row(
            "duplicate",
            Text(
                f"duplicate of a request received at {_clock_time(exchange.duplicate_of)}"
                f" (answered {exchange.duplicate_status})",
                style="yellow",
            ),
        )
    if exchange.payload_problem is not None:
        facts.add_row("payload", Text(f"⚠ {exchange.payload_problem}", style="yellow"))
    if exchange.simulated_failure:
        facts.add_row("answered", Text("500 on purpose (--fail-rate)", style="yellow"))
    if exchange.forwarded is not None:
        facts.add_row("forwarded", _forward_line(exchange.forwarded))
    return Group(Rule(title, align="left"), facts, _body(exchange))


def _forward_line(forwarded: Forwarded) -> Text:
    if forwarded.status is None:
        return Text(f"{forwarded.url} ✗ {forwarded.error} ({forwarded.latency_ms} ms)", style="red")
    style = "green" if 200 <= forwarded.status < 300 else "red"
    return Text.assemble(
        f"{forwarded.url} → ", (str(forwarded.status), style), f" in {forwarded.latency_ms} ms"
    )


def _body(exchange: Exchange) -> RenderableType:
    payload = exchange.payload
    if payload is None:
        shown = exchange.body[:SHOWN_BODY_BYTES].decode("utf-8", errors="replace")
        return Text(shown or "(empty body)", style="dim")
    # Non-ASCII shown as characters: the wire has \uXXXX escapes, people read Chinese.
    return JSON.from_data(payload, ensure_ascii=False)
