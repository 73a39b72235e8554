"""Which addresses hookline never contacts, in every form an address can take.

A webhook URL is chosen by a customer but fetched by this server, so a careless rule
lets anyone make hookline reach its own loopback, the private network it runs in, or
the cloud metadata service that hands out credentials (server-side request forgery).
This module judges addresses; ``hookline.domain.urls`` reads them out of URLs. IPv6
forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by that
IPv4 address, since that is where packets end up.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TypeAlias

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """Read an operator's comma-separated CIDR list (HOOKLINE_ALLOW_PRIVATE_NETWORKS).

    Host bits must be zero: ``10.0.0.1/8`` is refused rather than silently widened,
    because this list opens holes in a security rule and a typo should be loud.
    Empty items (a trailing comma) are ignored.
    """
    networks: list[IPNetwork] = []
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as exc:
            raise ValueError(
                f"network entry {entry!r} is not a network in CIDR notation such as "
                f"10.0.0.0/8 or fd00::/8 ({exc})"
            ) from exc
    return tuple(networks)


def _in_any(ip: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)


def _v4(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr)


def _v6(cidr: str) -> ipaddress.IPv6Network:
    return ipaddress.IPv6Network(cidr)


CLOUD_METADATA = "cloud metadata"

# Known instance-metadata endpoints. Most already lie in a blocked range; they are listed
# so that messages name them, and because Azure's WireServer sits at a public address.
CLOUD_METADATA_ADDRESSES: tuple[IPAddress, ...] = (
    ipaddress.IPv4Address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
    ipaddress.IPv4Address("169.254.170.2"),  # AWS ECS task metadata and credentials
    ipaddress.IPv4Address("169.254.0.23"),  # Tencent Cloud
    ipaddress.IPv4Address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.IPv4Address("192.0.0.192"),  # Oracle Cloud
    ipaddress.IPv4Address("168.63.129.16"),  # Azure WireServer (public address, host-local)
    ipaddress.IPv6Address("fd00:ec2::254"),  # AWS IMDS over IPv6
)

# First match wins; a kind of None marks an exception IANA lists as globally reachable
# inside a larger special-purpose block. Source: the IANA IPv4/IPv6 special-purpose
# address registries. Anything else Python's ipaddress calls non-global is also refused.
_IPV4_TABLE: tuple[tuple[ipaddress.IPv4Network, str | None], ...] = (
    (_v4("0.0.0.0/32"), "unspecified"),
    (_v4("0.0.0.0/8"), "reserved ('this network')"),
    (_v4("10.0.0.0/8"), "private"),
    (_v4("100.64.0.0/10"), "shared (carrier-grade NAT)"),
    (_v4("127.0.0.0/8"), "loopback"),
    (_v4("169.254.0.0/16"), "link-local"),
    (_v4("172.16.0.0/12"), "private"),
    (_v4("192.0.0.9/32"), None),
    (_v4("192.0.0.10/32"), None),
    (_v4("192.0.0.0/24"), "reserved (IETF protocol assignment)"),
    (_v4("192.0.2.0/24"), "documentation"),
    (_v4("192.168.0.0/16"), "private"),
    (_v4("198.18.0.0/15"), "benchmarking"),
    (_v4("198.51.100.0/24"), "documentation"),
    (_v4("203.0.113.0/24"), "documentation"),
    (_v4("224.0.0.0/4"), "multicast"),
    (_v4("255.255.255.255/32"), "broadcast"),
    (_v4("240.0.0.0/4"), "reserved"),
)

_IPV6_TABLE: tuple[tuple[ipaddress.IPv6Network, str | None], ...] = (
    (_v6("::/128"), "unspecified"),
    (_v6("::1/128"), "loopback"),
    (_v6("64:ff9b:1::/48"), "reserved (local-use NAT64)"),
    (_v6("100::/64"), "reserved (discard-only)"),
    (_v6("2001:1::1/128"), None),
    (_v6("2001:1::2/128"), None),
    (_v6("2001:1::3/128"), None),
    (_v6("2001:3::/32"), None),
    (_v6("2001:4:112::/48"), None),
    (_v6("2001:20::/28"), None),
    (_v6("2001:30::/28"), None),
    (_v6("2001:2::/48"), "benchmarking"),
    (_v6("2001:db8::/32"), "documentation"),
    (_v6("2001::/23"), "reserved (IETF protocol assignment)"),
    (_v6("3fff::/20"), "documentation"),
    (_v6("5f00::/16"), "reserved (segment routing)"),
    (_v6("fc00::/7"), "private"),
    (_v6("fe80::/10"), "link-local"),
    (_v6("fec0::/10"), "site-local"),
    (_v6("ff00::/8"), "multicast"),
)

_GLOBAL_UNICAST_V6 = _v6("2000::/3")
_MAPPED = _v6("::ffff:0:0/96")
_COMPATIBLE = _v6("::/96")
_NAT64 = _v6("64:ff9b::/96")
_SIX_TO_FOUR = _v6("2002::/16")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address packets to ``ip`` are really sent to, if it carries one."""
    if ip in _MAPPED or ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


def _classify_v4(ip: ipaddress.IPv4Address) -> str | None:
    if ip in CLOUD_METADATA_ADDRESSES:
        return CLOUD_METADATA
    for net, kind in _IPV4_TABLE:
        if ip in net:
            return kind
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return "reserved"
    return None


def _classify(ip: IPAddress) -> str | None:
    """The kind of a non-routable address, or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _classify_v4(ip)
    ip = ipaddress.IPv6Address(int(ip))  # drop any zone id: it does not change the target
    if ip in CLOUD_METADATA_ADDRESSES:
        return CLOUD_METADATA
    if int(ip) <= 1:
        return "unspecified" if int(ip) == 0 else "loopback"
    embedded = embedded_ipv4(ip)
    if embedded is not None:
        return _classify_v4(embedded)
    for net, kind in _IPV6_TABLE:
        if ip in net:
            return kind
    if ip not in _GLOBAL_UNICAST_V6:
        return "reserved"
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return "reserved"
    return None


def describe_address(ip: IPAddress) -> str:
    """Name what kind of address ``ip`` is, for error messages and logs."""
    return _classify(ip) or "public"


def is_blocked_address(ip: IPAddress, allowed: Sequence[IPNetwork] = ()) -> bool:
    """Whether hookline must refuse to connect to ``ip``.

    Only globally routable unicast addresses are fair game; the operator may open
    specific networks (for example a local test receiver) with ``allowed``. Cloud
    metadata addresses stay refused even inside an allowed network: they hand out
    credentials, and no receiver ever lives there.
    """
    kind = _classify(ip)
    if kind == CLOUD_METADATA:
        return True
    if _in_any(ip, allowed):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ipaddress.IPv6Address(int(ip)))
        if embedded is not None and _in_any(embedded, allowed):
            return False
    return kind is not None
