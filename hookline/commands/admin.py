"""``hookline admin ...``: operator tasks on the database this machine is configured for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from hookline.commands.keys import rotate_key
from hookline.commands.shared import clean_errors, console, migrated_context
from hookline.config import Settings
from hookline.services.context import Context

admin = typer.Typer(help="Operator tasks on the database this machine is configured for.")
admin.command("rotate-key")(rotate_key)


def _admin_context() -> Context:
    return migrated_context(Settings())


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

    with clean_errors():
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
    with clean_errors():
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

    with clean_errors():
        platforms.update_platform(_admin_context(), platform_id, webhook_limit=limit)
    console.print(f"[green]webhook limit[/green] of {platform_id} is now {limit}")


@admin.command("create-token")
def create_token(
    platform_id: Annotated[str, typer.Argument(help="The platform's id (pf_...).")],
) -> None:
    """Create another API token for a platform (shown once)."""
    from hookline.services import platforms

    with clean_errors():
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

    with clean_errors():
        user = users.create_user(
            _admin_context(), email=email, password=password, role=role, platform_id=platform
        )
    table = Table(show_header=False)
    table.add_row("user id", user.id)
    table.add_row("email", user.email)
    table.add_row("role", user.role.value)
    table.add_row("platform", user.platform_id or "- (operator: every platform)")
    console.print(table)
