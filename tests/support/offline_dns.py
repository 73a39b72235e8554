"""Name resolution for the test session: loopback and address literals only.

Tests never reach outside this machine, and a DNS query is a way out: a webhook URL
such as ``https://crm.example.com/hooks`` (the API's own example, which the schema
fuzzer sends) made the sender ask the real resolver. ``offline_getaddrinfo`` answers
what the machine answers without DNS (``localhost``, its own host name, an address
written out) and refuses every other name at once with the error a missing name gets,
so the sender records the same ``dns_error`` it would for an unknown host. aiohttp's
``ThreadedResolver`` (hookline's sender) calls ``socket.getaddrinfo`` through the event
loop, so replacing that one function covers it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

GetAddrInfo = Callable[..., Any]

REFUSAL = "hookline tests resolve no outside names"


def is_local_name(host: object, own_name: str) -> bool:
    """Whether ``host`` needs no DNS: empty, loopback by name, this machine, an address."""
    if host is None:
        return True
    name = host.decode("idna") if isinstance(host, bytes) else str(host)
    name = name.rstrip(".").lower()
    if name in ("", "localhost", own_name.lower()) or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name.split("%", 1)[0])  # an IPv6 literal may carry a zone
    except ValueError:
        return False
    return True


def offline(real: GetAddrInfo, own_name: str) -> GetAddrInfo:
    """``real`` for local names; an immediate ``EAI_NONAME`` for every other name."""

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if is_local_name(host, own_name):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known ({REFUSAL})")

    return getaddrinfo
