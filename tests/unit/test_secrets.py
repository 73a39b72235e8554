"""Share secrets, tokens and encryption at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hookline.domain import secrets


def test_share_secret_serves_both_signature_styles() -> None:
    secret = secrets.generate_share_secret()
    assert secret.startswith("whsec_")
    raw = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert len(raw) == 32
    assert secrets.standard_webhooks_key(secret) == raw
    # MAAC-style signing uses the whole string as the key; it must be plain ASCII
    body = b'{"timestamp": "x", "topic": "t", "data": {}}'
    sig = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    assert len(sig) == 64


def test_standard_webhooks_reference_key() -> None:
    key = secrets.standard_webhooks_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    mac = hmac.new(
        key, b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}', hashlib.sha256
    )
    assert base64.b64encode(mac.digest()).decode() == "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_secrets_are_unique() -> None:
    assert len({secrets.generate_share_secret() for _ in range(200)}) == 200


def test_tokens_are_hashed_and_compared_safely() -> None:
    token = secrets.generate_token(secrets.PLATFORM_TOKEN_PREFIX)
    assert token.startswith("hlp_") and len(token) > 40
    assert secrets.hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert secrets.tokens_equal(token, token)
    assert not secrets.tokens_equal(token, token + "x")


@pytest.mark.parametrize("key", ["a passphrase", Fernet.generate_key().decode()])
def test_secret_box_round_trip(key: str) -> None:
    box = secrets.SecretBox(key)
    ciphertext = box.encrypt("whsec_abc")
    assert "whsec_abc" not in ciphertext
    assert box.decrypt(ciphertext) == "whsec_abc"
    assert secrets.SecretBox(key).decrypt(ciphertext) == "whsec_abc"


def test_wrong_key_is_a_clear_error_without_the_secret() -> None:
    ciphertext = secrets.SecretBox("one").encrypt("whsec_topsecret")
    with pytest.raises(secrets.SecretKeyMismatch) as info:
        secrets.SecretBox("two").decrypt(ciphertext)
    assert "HOOKLINE_SECRET_KEY" in str(info.value)
    assert "topsecret" not in str(info.value)


def test_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    key = secrets.load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secrets.load_or_create_key_file(path) == key
    secrets.SecretBox(key)  # a valid key
