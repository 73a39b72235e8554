"""The browser the tests drive resolves no outside name (``CHROMIUM_ARGS``).

Whether a name reaches DNS cannot be told from a machine without DNS, where every
outside name fails anyway; this machine's own name can: the system answers it from
``/etc/hosts``, and only the rule makes Chromium answer "not found".
"""

from __future__ import annotations

import socket

import pytest
from playwright.sync_api import Browser, Error

from tests.support.receiver import Receiver


@pytest.mark.parametrize("host", ["crm.example.com", socket.gethostname()])
def test_chromium_resolves_no_name_but_localhost(
    browser: Browser, receiver: Receiver, host: str
) -> None:
    refused, reached = browser.new_page(), browser.new_page()
    try:
        with pytest.raises(Error, match="ERR_NAME_NOT_RESOLVED"):
            refused.goto(f"http://{host}:{receiver.port}/hook", timeout=10_000)
        # the loopback address the tests' servers use is still reached
        answer = reached.goto(receiver.url(), timeout=10_000)
        assert answer is not None and answer.status < 500
    finally:
        refused.close()
        reached.close()
