"""Issue 5, done when: ``hookline listen`` shows a test event sent from the dashboard.

The whole loop an engineer runs on day one, with nothing faked: a member creates a
webhook in the dashboard (real Chromium) pointing at a loopback port, uncovers its
secret, starts ``hookline listen`` with that secret on that port (a real subprocess),
and clicks "Send test". The dashboard must report the delivery, and the listener must
print it as verified, as a test, with the topic and the idempotency key the dashboard
says it sent. Fixtures: tests/browser/conftest.py.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import OpenTab, Tab
from tests.browser.support import (
    EN,
    POINTS,
    RECEIPT,
    create_in_form,
    send_delivered_test,
    uncover_secret,
)
from tests.support.process import Process, cli_env, free_port
from tests.support.server import DemoServer

KEY_LINE = re.compile(r"^CrescLab-Idempotency-Key: (\S+)$", re.MULTILINE | re.IGNORECASE)
VERIFIED = "✓ verified (CrescLab-Signature, webhook-signature)"
MARKED_TEST = "yes (CrescLab-Test: true)"


def send_test(tab: Tab, topic: str) -> str:
    """Send a test of ``topic`` from the details page; the idempotency key it shows."""
    page = tab.page
    previous = page.locator("#test-headers")
    before = previous.inner_text() if previous.count() else None
    send_delivered_test(page, topic)
    expect(page.locator("#test-body")).to_contain_text(topic)
    expect(page.locator("#test-response")).to_have_text("OK")  # what the listener answered
    headers = page.locator("#test-headers").inner_text()
    assert headers != before, "the headers shown did not change after a new test"
    match = KEY_LINE.search(headers)
    assert match, f"no CrescLab-Idempotency-Key line in the headers shown:\n{headers}"
    assert re.search(r"^CrescLab-Test: true$", headers, re.MULTILINE | re.IGNORECASE), headers
    return match.group(1)


def test_hookline_listen_shows_a_test_event_sent_from_the_dashboard(
    open_tab: OpenTab, server: DemoServer
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    tab = open_tab(login="member")
    page = tab.page

    # the webhook, created by a member in the dashboard, pointing at the listener's port
    webhook_id = create_in_form(tab, "My receiver (local)", url, topics=(RECEIPT, POINTS))
    expect(page.locator("#notice")).to_have_text(EN("notice.created"))
    assert [w["url"] for w in server.webhooks() if w["id"] == webhook_id] == [url]

    # its secret, uncovered on the details page
    tab.goto(f"/webhooks/{webhook_id}")
    secret = uncover_secret(page)

    # `hookline listen` with that secret on that port; its output read by a thread
    listener = Process(
        "hookline listen",
        *("listen", "--secret", secret, "--port", str(port)),
        # one exchange fact per line, no colours; ✓ and the body's Chinese in UTF-8
        env=cli_env(drop=("HOOKLINE_LISTEN_SECRET",), NO_COLOR="1"),
    )
    try:
        listener.wait_for_port(port)
        listener.wait_for_output(
            f"hookline listen on http://127.0.0.1:{port}/",
            f"verifying with the secret ending …{secret[-4:]}",
        )

        # the test, sent from the dashboard: delivered, and shown by the listener
        key = send_test(tab, POINTS)
        # the body comes last in an exchange's block: once it shows, the whole block has
        out = listener.wait_for_output(key, VERIFIED, MARKED_TEST, f'"topic": "{POINTS}"')
        exchanges = out.count("POST /hook  → ")
        assert exchanges == 1, f"expected one request, the listener printed {exchanges}:\n{out}"
        block = out[out.index("POST /hook  → 200") :]
        assert re.search(rf"^topic\s+{re.escape(POINTS)}\s*$", block, re.MULTILINE), block
        assert re.search(rf"^idempotency key\s+{re.escape(key)}\s*$", block, re.MULTILINE), block
        assert re.search(rf"^test\s+{re.escape(MARKED_TEST)}", block, re.MULTILINE), block
        assert "⚠" not in block, f"the listener flagged the body as not fitting {POINTS}"
        assert "duplicate" not in block

        # sending again is another event (a new key), not a duplicate of the first
        second = send_test(tab, RECEIPT)
        assert second != key
        out = listener.wait_for_output(second, f'"topic": "{RECEIPT}"')
        assert out.count("POST /hook  → 200") == 2, out
        block = out[out.rindex("POST /hook  → 200") :]
        assert re.search(rf"^topic\s+{re.escape(RECEIPT)}\s*$", block, re.MULTILINE), block
        assert re.search(rf"^idempotency key\s+{re.escape(second)}\s*$", block, re.MULTILINE), block
        assert out.count(VERIFIED) == 2, out
        assert "duplicate of" not in out, out

        assert secret not in out  # only the secret's last characters are ever printed
        assert listener.terminate() == 0  # SIGTERM is a clean stop
    finally:
        listener.kill()
