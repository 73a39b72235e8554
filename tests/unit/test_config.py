"""Settings come from HOOKLINE_* variables; a bad value stops the start with its name."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from pydantic import ValidationError

from hookline.config import Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATA_DIR", "DATABASE_URL", "ALLOW_HTTP", "ALLOW_PRIVATE_NETWORKS"):
        monkeypatch.delenv(f"HOOKLINE_{name}", raising=False)
    s = Settings()
    assert s.data_dir == Path("var")
    assert s.sqlalchemy_url == f"sqlite:///{Path('var').resolve() / 'hookline.db'}"
    assert s.allow_http is False
    assert s.allowed_networks == ()


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("HOOKLINE_ALLOW_HTTP", "true")
    monkeypatch.setenv("HOOKLINE_ALLOW_PRIVATE_NETWORKS", "127.0.0.0/8, ::1/128")
    s = Settings()
    assert s.sqlalchemy_url == "postgresql+psycopg://u@h/db"
    assert s.allow_http is True
    assert s.allowed_networks == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )


def test_a_bad_network_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_ALLOW_PRIVATE_NETWORKS", "10.0.0.0/8,not-a-net")
    with pytest.raises(ValidationError) as info:
        Settings()
    assert "allow_private_networks" in str(info.value)
    assert "not-a-net" in str(info.value)
