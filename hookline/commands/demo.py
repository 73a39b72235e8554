"""``serve --demo``: the seeded demo platform, its tokens, and the panel it prints.

Kept out of ``cli.py`` (a short table of commands); ``demo_line`` starts the demo's
fake LINE beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import SecretStr
from rich.panel import Panel

from hookline import __version__
from hookline.commands.shared import console
from hookline.config import Settings

if TYPE_CHECKING:
    from hookline.services.context import Context
    from hookline.services.demo import DemoCredentials


def print_panel(
    creds: DemoCredentials, base: str, delivery: str, extra: list[str] | None = None
) -> None:
    """Everything a first run needs to try the demo, copyable as printed."""
    more = "".join("\n" + line for line in extra or [])
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
            f"Ingest token:    {creds.ingest_token}\n"
            f"Delivery:        {delivery}" + more,
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


def with_tokens(settings: Settings, creds: DemoCredentials) -> Settings:
    """The demo platform's tokens become the server's."""
    return settings.model_copy(
        update={
            "operator_token": SecretStr(creds.operator_token),
            "ingest_token": SecretStr(creds.ingest_token),
        }
    )


def credentials(settings: Settings, ctx: Context) -> DemoCredentials:
    """Seed (or read back) the demo platform."""
    from hookline.services.demo import ensure_demo

    op_token = settings.operator_token.get_secret_value() if settings.operator_token else None
    in_token = settings.ingest_token.get_secret_value() if settings.ingest_token else None
    return ensure_demo(ctx, settings.data_dir, op_token, in_token)
