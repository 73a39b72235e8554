"""The server's secret key: whether it opens what the database holds, and re-sealing.

A key that does not open the stored share secrets breaks every delivery, reveal and
test send of the webhooks concerned, so a process refuses to start with one instead
(``check_key``), and ``rotate_key`` moves every sealed value from one key to another
in one transaction: all of them or none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hookline.domain.errors import HooklineError
from hookline.domain.secrets import SecretBox, SecretKeyMismatch
from hookline.store import Database, sealed

ROTATE_HINT = (
    "`hookline admin rotate-key --old-key-file PATH` re-seals them with the configured key"
    " if you have the old one"
)


class SecretKeyUnusable(HooklineError):
    """The configured key cannot open the sealed secrets (or there is no key for them)."""

    code = "secret_key_unusable"


@dataclass(frozen=True)
class Rotation:
    resealed: int
    """Values sealed with the old key, now sealed with the new one."""
    already_new: int
    """Values the new key opened already (a rotation run again after an interruption)."""


def _opens(box: SecretBox, ciphertext: str) -> bool:
    try:
        box.decrypt(ciphertext)
    except SecretKeyMismatch:
        return False
    return True


def has_sealed_values(db: Database) -> bool:
    with db.read() as conn:
        return bool(sealed.sample(conn, newest=1))


def check_key(db: Database, box: SecretBox, source: str) -> None:
    """Refuse a key that does not open a sample of the sealed values (newest and oldest).

    ``source`` names where the key came from, for the message. A sample keeps the
    start cheap on any database; a rotation is all-or-nothing, so one stored value
    that opens speaks for the rest of its generation.
    """
    with db.read() as conn:
        values = sealed.sample(conn)
    unreadable = sum(1 for value in values if not _opens(box, value.ciphertext))
    if unreadable:
        raise SecretKeyUnusable(
            f"hookline will not start: {unreadable} of {len(values)} sampled webhook secrets in"
            f" the database do not open with {source}, so their deliveries, reveals and test"
            " sends would all fail. Restore the key they were sealed with (put the old"
            " secret.key back in the data directory, or set HOOKLINE_SECRET_KEY to it), or, to"
            f" keep the key you have now, {ROTATE_HINT}. Nothing was changed."
        )


def rotate_key(db: Database, old: SecretBox, new: SecretBox) -> Rotation:
    """Re-seal every sealed value from ``old`` to ``new`` in one transaction.

    Values ``new`` already opens are left alone, so running a rotation again after an
    interruption is safe. If any value opens with neither key, nothing is changed.
    """
    with db.write() as conn:
        sealed.lock_all(conn)
        values = sealed.every_value(conn)
        resealed: list[sealed.SealedValue] = []
        already_new = unreadable = 0
        for value in values:
            try:
                plaintext = old.decrypt(value.ciphertext)
            except SecretKeyMismatch:
                if _opens(new, value.ciphertext):
                    already_new += 1
                else:
                    unreadable += 1
                continue
            resealed.append(replace(value, ciphertext=new.encrypt(plaintext)))
        if unreadable:
            raise SecretKeyUnusable(
                f"{unreadable} of {len(values)} sealed values open with neither the old nor the"
                " new key: nothing was changed. Give the key they were sealed with as the old"
                " key."
            )
        sealed.replace(conn, resealed)
    return Rotation(resealed=len(resealed), already_new=already_new)
