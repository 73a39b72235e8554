"""Verify a hookline webhook with the Python standard library only.

Usage: WEBHOOK_SECRET=whsec_... python verify.py BODY_FILE HEADERS_JSON_FILE
In your app, call verify() with the raw request body (bytes) and its headers.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time

TOLERANCE = 300  # seconds webhook-timestamp may differ from this host's clock
# hookline always sends webhook-signature. Set True only while MAAC itself still sends
# to this URL: its requests carry CrescLab-Signature alone, which has no timestamp.
ALLOW_MAAC_ONLY = False


class InvalidWebhook(Exception):
    pass


def verify(body: bytes, headers: dict[str, str], secret: str) -> None:
    """Raise InvalidWebhook unless the raw body was signed with the share secret."""
    h = {name.lower(): value.strip() for name, value in headers.items()}
    if h.get("webhook-signature"):
        # Standard Webhooks: signs id, timestamp and body; the timestamp stops replays.
        msg_id, stamp = h.get("webhook-id", ""), h.get("webhook-timestamp", "")
        if not msg_id or not stamp.isdecimal():
            raise InvalidWebhook("webhook-id or webhook-timestamp missing")
        if abs(time.time() - int(stamp)) > TOLERANCE:
            raise InvalidWebhook("webhook-timestamp outside the tolerance")
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{msg_id}.{stamp}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        # One "v1,<base64>" per valid secret (several during a rotation): any may match.
        for entry in h["webhook-signature"].split():
            if entry.startswith("v1,") and hmac.compare_digest(entry[3:], expected):
                return
        raise InvalidWebhook("no webhook-signature matches")
    if not ALLOW_MAAC_ONLY:
        raise InvalidWebhook("webhook-signature missing")
    # MAAC's scheme: hex HMAC-SHA256 of the raw body, keyed by the whole secret text.
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(h.get("cresclab-signature", "").lower(), expected):
        raise InvalidWebhook("CrescLab-Signature does not match")


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as body_file, open(sys.argv[2]) as headers_file:
        raw_body, request_headers = body_file.read(), json.load(headers_file)
    try:
        verify(raw_body, request_headers, os.environ["WEBHOOK_SECRET"])
    except InvalidWebhook as exc:
        sys.exit(f"rejected: {exc}")
    print("verified")
