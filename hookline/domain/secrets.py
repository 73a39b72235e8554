"""Share secrets, API tokens and encryption at rest.

One share secret serves both signature styles: MAAC signs with the whole
``whsec_...`` string as the HMAC key, Standard Webhooks with the base64-decoded
bytes after the prefix. API tokens are random and stored only as SHA-256 digests
(they carry 256 bits of entropy, so a slow hash adds nothing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from hookline.domain.errors import SecretUnreadable

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 32
PLATFORM_TOKEN_PREFIX = "hlp_"  # noqa: S105
OPERATOR_TOKEN_PREFIX = "hlo_"  # noqa: S105
INGEST_TOKEN_PREFIX = "hli_"  # noqa: S105


def generate_share_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key Standard Webhooks uses: the base64 part of ``whsec_...``."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def generate_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class SecretBox:
    """Encrypts share secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256).

    The key may be a Fernet key or any passphrase; a passphrase is stretched with
    SHA-256 so operators can set ``HOOKLINE_SECRET_KEY`` to something memorable
    without weakening the format.
    """

    def __init__(self, key: str) -> None:
        fernet_key = _fernet_key(key)
        self._fernet = Fernet(fernet_key)
        # a key of its own for tags, so a tag never reveals anything about the sealing key
        self._tag_key = hashlib.sha256(b"hookline-tag\0" + fernet_key).digest()

    def tag(self, purpose: str, value: str) -> str:
        """A keyed digest of ``value`` only this server can make (e.g. a CSRF token).

        ``purpose`` keeps tags made for one use from being valid for another.
        """
        message = purpose.encode("utf-8") + b"\0" + value.encode("utf-8")
        digest = hmac.new(self._tag_key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise SecretKeyMismatch(UNREADABLE_MESSAGE) from exc


UNREADABLE_MESSAGE = (
    "A stored secret cannot be decrypted: HOOKLINE_SECRET_KEY (or the data directory's"
    " secret.key) differs from the key it was sealed with. Restore that key, or re-seal"
    " the secrets with `hookline admin rotate-key --old-key-file ...`."
)


class SecretKeyMismatch(SecretUnreadable):
    """The key at hand is not the one the ciphertext was sealed with (or it was altered)."""


def _fernet_key(key: str) -> bytes:
    raw = key.encode("utf-8")
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def write_private_file(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 from the first byte (it must not exist yet)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def load_or_create_key_file(path: Path) -> str:
    """Read the data dir's key, creating it (mode 0600) on first start."""
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = generate_key()
    write_private_file(path, key + "\n")
    return key
