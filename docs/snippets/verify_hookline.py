"""Verify and parse a hookline webhook with the hookline.receiver library.

Usage: WEBHOOK_SECRET=whsec_... python verify_hookline.py BODY_FILE HEADERS_JSON_FILE
In your app, call verify_and_parse() with the raw request body (bytes) and its headers.
"""

import json
import os
import sys

from hookline.receiver import WebhookError, verify_and_parse

# hookline always sends webhook-signature. None (check whatever is present) also
# accepts MAAC's own requests, whose CrescLab-Signature alone has no timestamp.
SCHEMES: set[str] | None = {"standard"}

if __name__ == "__main__":
    with open(sys.argv[1], "rb") as body_file, open(sys.argv[2]) as headers_file:
        raw_body, request_headers = body_file.read(), json.load(headers_file)
    try:
        event = verify_and_parse(
            raw_body, request_headers, os.environ["WEBHOOK_SECRET"], schemes=SCHEMES
        )
    except WebhookError as exc:  # answer exc.http_status with exc.to_dict()
        sys.exit(f"rejected: {exc.code}: {exc}")
    print(f"verified {event.topic} {event.idempotency_key}")
