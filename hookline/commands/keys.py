"""``hookline admin rotate-key``: re-seal every stored secret under another server key.

Keys come from files or the environment (a key typed on the command line stays in
the shell's history and shows in ``ps``; ``--old-key`` and ``--new-key`` exist for
scripts that pass them from a secret store) and are never printed. When the key file
is the configuration (``HOOKLINE_SECRET_KEY`` unset), the new key goes to the key
file: first to ``secret.key.new``, then, once the database committed, over
``secret.key``; an interruption in between leaves both keys on disk, never neither.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hookline.commands.shared import clean_errors, console, err
from hookline.config import Settings
from hookline.domain.secrets import SecretBox, generate_key, write_private_file

if TYPE_CHECKING:
    from hookline.services.keys import Rotation


@dataclass(frozen=True)
class KeyPlan:
    old: str
    new: str
    key_file: Path | None
    """Where the new key goes after the rotation: the key file, unless the env is the key."""


def _read_key(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        message = f"cannot read a key from {path}: {exc.__class__.__name__}"
        raise typer.BadParameter(message) from None
    if not key:
        raise typer.BadParameter(f"{path} is empty")
    return key


def plan_rotation(
    settings: Settings,
    old: str | None,
    new: str | None,
) -> KeyPlan:
    """The old key defaults to the configured one; the new one to ``HOOKLINE_SECRET_KEY``
    (when it is not the old key) or, with a key file, to a freshly generated key."""
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    key_file = None if configured else settings.key_file
    if old is None:
        old = configured or (_read_key(key_file) if key_file and key_file.exists() else None)
    if old is None:
        raise typer.BadParameter(
            "give the key the secrets are sealed with: --old-key-file PATH or"
            " HOOKLINE_OLD_SECRET_KEY"
        )
    if new is None:
        if configured == old:
            raise typer.BadParameter(
                "HOOKLINE_SECRET_KEY is the old key: give the new one (--new-key-file PATH or"
                " HOOKLINE_NEW_SECRET_KEY), then set HOOKLINE_SECRET_KEY to it"
            )
        new = configured or generate_key()
    if new == old:
        raise typer.BadParameter("the old and the new key are the same: nothing to re-seal")
    return KeyPlan(old=old, new=new, key_file=key_file)


def _staged(key_file: Path, key: str) -> Path:
    staged = key_file.with_name(key_file.name + ".new")
    if staged.exists():
        raise typer.BadParameter(
            f"{staged} exists: an earlier rotation was interrupted. If hookline does not start"
            f" with {key_file}, that file holds the key the secrets are sealed with now: give"
            " it as --old-key-file, after moving it elsewhere."
        )
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private_file(staged, key + "\n")
    return staged


def rotate_key(
    old_key_file: Annotated[
        Path | None,
        typer.Option(help="File holding the key the secrets are sealed with now.", exists=True),
    ] = None,
    new_key_file: Annotated[
        Path | None, typer.Option(help="File holding the key to seal them with.", exists=True)
    ] = None,
    old_key: Annotated[
        str | None,
        typer.Option(
            envvar="HOOKLINE_OLD_SECRET_KEY",
            show_envvar=True,
            show_default=False,
            help="The old key itself (prefer the file or the env var). Default: the configured"
            " key (HOOKLINE_SECRET_KEY or the data directory's secret.key).",
        ),
    ] = None,
    new_key: Annotated[
        str | None,
        typer.Option(
            envvar="HOOKLINE_NEW_SECRET_KEY",
            show_envvar=True,
            show_default=False,
            help="The new key itself. Default: HOOKLINE_SECRET_KEY when it is not the old"
            " key, else a new key written to the data directory's secret.key.",
        ),
    ] = None,
) -> None:
    """Re-seal every stored webhook secret with a new key, in one transaction.

    Stop `serve` and every `worker` first: a process still running with the old key
    would seal new secrets with it.
    """
    settings = Settings()
    old = old_key or _read_key(old_key_file)
    plan = plan_rotation(settings, old, new_key or _read_key(new_key_file))
    done = _reseal(settings, plan)
    console.print(
        f"[green]re-sealed {done.resealed} secrets[/green] with the new key"
        + (f" ({done.already_new} were sealed with it already)" if done.already_new else "")
    )
    if plan.key_file is not None:
        console.print(
            f"the new key is in {plan.key_file}; keep the old key with the backups made before"
        )
    elif settings.secret_key and settings.secret_key.get_secret_value() != plan.new:
        err.print("set HOOKLINE_SECRET_KEY to the new key before starting hookline again")


def _reseal(settings: Settings, plan: KeyPlan) -> Rotation:
    """The database first, the key file after: a failed rotation leaves the old key in place."""
    from hookline.bootstrap import open_database
    from hookline.services import keys
    from hookline.store.migrate import upgrade

    db = open_database(settings)
    staged = _staged(plan.key_file, plan.new) if plan.key_file else None
    try:
        upgrade(db)
        with clean_errors():
            done = keys.rotate_key(db, SecretBox(plan.old), SecretBox(plan.new))
    except BaseException:  # typer.Exit included: the staged key must not outlive a failure
        if staged is not None:
            staged.unlink()
        raise
    finally:
        db.dispose()
    if staged is not None and plan.key_file is not None:
        os.replace(staged, plan.key_file)
    return done
