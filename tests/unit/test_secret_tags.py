"""Tags: keyed digests only this server can make (the dashboard's CSRF tokens)."""

from __future__ import annotations

from hookline.domain import secrets


def test_tags_depend_on_key_purpose_and_value() -> None:
    box = secrets.SecretBox("one")
    tag = box.tag("csrf-session", "hls_abc")
    assert tag == secrets.SecretBox("one").tag("csrf-session", "hls_abc")
    assert len(tag) == 43 and "hls_abc" not in tag
    assert tag != secrets.SecretBox("two").tag("csrf-session", "hls_abc")
    assert tag != box.tag("csrf-login", "hls_abc")
    assert tag != box.tag("csrf-session", "hls_abd")
