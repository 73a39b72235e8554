"""Deliveries through an operator's HTTP proxy (``HOOKLINE_EGRESS_PROXY``), still guarded.

Through a proxy, aiohttp never resolves the receiver's name: the proxy would, after
any check of ours, so a name that resolves to a public address for us and to
169.254.169.254 for the proxy (DNS rebinding, or a split-horizon resolver) would slip
through. So the name is resolved here with the same guard as a direct send
(``_GuardedResolver``: any blocked address refuses the delivery) and the request is
**pinned** to the address that was checked: the proxy is asked for ``CONNECT
<address>:<port>`` (https) or ``POST http://<address>:<port>/...`` (http), with the
name in the ``Host`` header and, for https, as the TLS server name (SNI and the
certificate check). The proxy resolves nothing; what it connects to is what we judged.

The cost, for plain-http receivers only: a proxy takes the ``Host`` it forwards from
the request line (RFC 9112 absolute form; tinyproxy and squid do), so such a receiver
sees its address, not its name, as ``Host``. An https receiver sees its name (the
tunnel carries our own request). Receivers behind a proxy should be https anyway.

The proxy's own address is the operator's setting and is not judged: it is usually a
private address, which the guard would refuse.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver
from yarl import URL

from hookline.domain.urls import WebhookURLError, parse_ip_literal

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Pinned:
    """A request's URL with the checked address as its host, and what keeps its name."""

    url: URL
    host_header: str | None
    server_hostname: str | None


def _host_header(url: URL) -> str:
    host = url.raw_host or ""
    if ":" in host:
        host = f"[{host}]"
    port = url.port
    return host if port is None or port == DEFAULT_PORTS.get(url.scheme) else f"{host}:{port}"


async def pin(url: URL, guard: AbstractResolver) -> Pinned:
    """Resolve ``url``'s host through ``guard`` (which raises when any address is
    blocked) and answer the URL to send to the proxy; a literal address is kept."""
    host = url.raw_host or ""
    try:
        literal = parse_ip_literal(host)
    except WebhookURLError:  # the sender's own check refused it already
        literal = None
    if literal is not None:
        return Pinned(url, None, None)
    answers = await guard.resolve(host, url.port or 0, socket.AF_UNSPEC)
    address = answers[0]["host"]
    https = url.scheme == "https"
    return Pinned(url.with_host(address), _host_header(url), host.rstrip(".") if https else None)
