"""The secret key file on disk: created once, readable by its owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from hookline.domain import secrets


def test_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    key = secrets.load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secrets.load_or_create_key_file(path) == key
    secrets.SecretBox(key)  # a valid key
