"""Which webhook URLs hookline accepts, and which addresses it never contacts.

A webhook URL is chosen by a customer but fetched by this server, so a careless rule
lets anyone make hookline reach its own loopback, the private network it runs in, or
the cloud metadata service that hands out credentials (server-side request forgery).
The rules here run twice: when a webhook is created (on addresses written literally in
the URL) and when a delivery is sent (on the addresses a host name resolved to, which
is the check that matters, since DNS answers can change at any time).

Addresses are recognised in every spelling a URL parser or ``inet_aton`` accepts
(``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``[::ffff:127.0.0.1]``, fullwidth digits,
...), because the HTTP client that eventually connects is more lenient than a regular
expression for dotted quads. IPv6 forms that carry an IPv4 address (mapped, compatible,
NAT64, 6to4) are judged by that IPv4 address, since that is where packets end up.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Sequence
from urllib.parse import urlsplit

from hookline.domain.networks import (
    IPAddress,
    IPNetwork,
    describe_address,
    embedded_ipv4,
    is_blocked_address,
)

MAX_URL_LENGTH = 2048

ALLOW_HTTP_SETTING = "HOOKLINE_ALLOW_HTTP"
ALLOW_PRIVATE_SETTING = "HOOKLINE_ALLOW_PRIVATE_NETWORKS"


class WebhookURLError(ValueError):
    """A refused webhook URL.

    ``code`` is what clients branch on and must never change; ``message`` is for people
    and never repeats the URL itself, which may carry credentials or tokens.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _invalid(message: str) -> WebhookURLError:
    return WebhookURLError("url_invalid", message)


# ---------------------------------------------------------------------------
# Address literals
# ---------------------------------------------------------------------------

_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdef")


def _looks_numeric(part: str) -> bool:
    """Whether a resolver would read this label as a number rather than a name."""
    if part.startswith("0x"):
        return _HEX_DIGITS.issuperset(part[2:])
    return part != "" and _DIGITS.issuperset(part)


def _ipv4_number(part: str, host: str) -> int:
    if part.startswith("0x"):
        digits, base = part[2:].lstrip("0"), 16
        max_len = 8
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:].lstrip("0"), 8
        max_len = 11
        if not frozenset("01234567").issuperset(digits):
            raise _invalid(f"host {host!r} looks like an IPv4 address but has a bad octal part.")
    else:
        digits, base, max_len = part, 10, 10
    if len(digits) > max_len:
        raise _invalid(f"host {host!r} looks like an IPv4 address but a part is too large.")
    return int(digits or "0", base)


def _parse_ipv4(parts: list[str], host: str) -> ipaddress.IPv4Address:
    """Read the 1-4 part numeric forms of ``inet_aton`` (and the WHATWG URL standard)."""
    if len(parts) > 4 or not all(_looks_numeric(p) for p in parts):
        raise _invalid(f"host {host!r} ends in a number but is not a valid IPv4 address.")
    numbers = [_ipv4_number(p, host) for p in parts]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise _invalid(f"host {host!r} looks like an IPv4 address but a part is out of range.")
    value = last
    for i, n in enumerate(leading):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _parse_ipv6(host: str) -> ipaddress.IPv6Address:
    inner = host
    if host.startswith("["):
        if not host.endswith("]"):
            raise _invalid(f"host {host!r} has an unclosed '['.")
        inner = host[1:-1]
    address, percent, zone = inner.partition("%")
    if percent and not zone:
        raise _invalid(f"host {host!r} has an empty IPv6 zone id.")
    try:
        return ipaddress.IPv6Address(address)
    except ValueError as exc:
        raise _invalid(f"host {host!r} is not a valid IPv6 address.") from exc


def parse_ip_literal(host: str) -> IPAddress | None:
    """Return the address a host written as a literal stands for, or None for a name.

    Anything a resolver would treat as a number must come out as an address or an
    error, never as a name: otherwise ``0x7f.1`` would slip past the block-list here and
    reach 127.0.0.1 at send time. Following the URL standard, a host whose last label is
    numeric (``foo.123``) is not a name either.
    """
    text = host.lower()
    if text.startswith("[") or text.endswith("]") or ":" in text:
        return _parse_ipv6(text)
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise _invalid("URL host is empty.")
    parts = text.split(".")
    if "" in parts:
        raise _invalid(f"host {host!r} has an empty label.")
    if _looks_numeric(parts[-1]):
        return _parse_ipv4(parts, host)
    return None


# ---------------------------------------------------------------------------
# Webhook URLs
# ---------------------------------------------------------------------------

_LOOPBACK_ADDRESSES: tuple[IPAddress, ...] = (
    ipaddress.IPv4Address("127.0.0.1"),
    ipaddress.IPv6Address("::1"),
)
_METADATA_ADDRESSES: tuple[IPAddress, ...] = (ipaddress.IPv4Address("169.254.169.254"),)

# Names that resolve to blocked addresses without asking DNS (RFC 6761, /etc/hosts
# defaults, the GCP metadata server), refused early so customers learn at once.
_SPECIAL_NAMES: dict[str, tuple[IPAddress, ...]] = {
    "localhost": _LOOPBACK_ADDRESSES,
    "localhost.localdomain": _LOOPBACK_ADDRESSES,
    "ip6-localhost": _LOOPBACK_ADDRESSES,
    "ip6-loopback": _LOOPBACK_ADDRESSES,
    "metadata": _METADATA_ADDRESSES,
    "metadata.google.internal": _METADATA_ADDRESSES,
}

_HOST_ASCII = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
# IDNA treats these as dots too, so they must split labels here as well.
_IDEOGRAPHIC_DOTS = ("\u3002", "\uff0e", "\uff61")


def _normalise_host(host: str) -> str:
    """Spell a host as an IDNA-aware client would before resolving it.

    NFKC folds fullwidth and other compatibility digits (fullwidth 127, circled 1) to ASCII,
    which is what UTS #46 mapping in HTTP clients does too.
    """
    text = host.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text).lower()
    for dot in _IDEOGRAPHIC_DOTS:
        text = text.replace(dot, ".")
    return text


def _check_host_name(host: str) -> None:
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253:
        raise _invalid("host name is longer than 253 characters.")
    for char in name:
        if char.isascii():
            if char not in _HOST_ASCII:
                raise _invalid(f"host {host!r} contains the character {char!r}.")
        elif unicodedata.category(char)[0] not in "LMN" and char not in "\u200c\u200d":
            raise _invalid(f"host {host!r} contains the character {char!r}.")
    for label in name.split("."):
        if label.isascii() and len(label) > 63:
            raise _invalid(f"host {host!r} has a label longer than 63 characters.")


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _blocked(host: str, ip: IPAddress, *, resolved: bool) -> WebhookURLError:
    kind = describe_address(ip)
    shown = str(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ipaddress.IPv6Address(int(ip)))
        shown = shown if embedded is None else f"{shown}, carrying {embedded}"
    if resolved:
        what = f"resolves to {shown}, {_article(kind)} {kind} address"
    else:
        what = f"is {_article(kind)} {kind} address ({shown})"
    return WebhookURLError(
        "url_blocked_address",
        f"URL host {host} {what}; hookline delivers only to public addresses unless "
        f"{ALLOW_PRIVATE_SETTING} lists a network containing it.",
    )


def _split_port(hostport: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise _invalid("URL host has an unclosed '['.")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        if rest and not rest.startswith(":"):
            raise _invalid("URL has text between the ']' of its host and the port.")
        port_text = rest[1:]
        has_port = bool(rest)
    else:
        host, sep, port_text = hostport.partition(":")
        has_port = bool(sep)
    if not has_port or port_text == "":
        return host, None
    if not (port_text.isascii() and port_text.isdigit()):
        raise _invalid("URL port must be a number between 1 and 65535.")
    if len(port_text) > 5 or not 1 <= int(port_text) <= 65535:
        raise _invalid("URL port must be between 1 and 65535.")
    return host, int(port_text)


def check_webhook_url(
    url: str, *, allow_http: bool, allowed_networks: Sequence[IPNetwork] = ()
) -> str:
    """Validate a webhook URL a customer entered; return it without surrounding spaces.

    Host names other than the few well-known local ones pass: only their resolved
    addresses can be judged, and that happens again at every send.
    """
    url = url.strip()
    _check_characters(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise _invalid("URL is malformed.") from exc
    _check_scheme(url, parts.scheme, allow_http)
    if not url[len(parts.scheme) + 1 :].startswith("//") or not parts.netloc:
        raise _invalid("URL has no host, such as https://example.com/hook.")
    if "@" in parts.netloc:
        raise WebhookURLError(
            "url_credentials_not_allowed",
            "URL must not contain a user name or password (the user:password@ part).",
        )
    host = _host_of(parts.netloc)
    ip = parse_ip_literal(host)
    if ip is not None:
        if is_blocked_address(ip, allowed_networks):
            raise _blocked(host, ip, resolved=False)
        return url

    name = host.removesuffix(".")
    targets = _SPECIAL_NAMES.get(name)
    if targets is None and name.endswith(".localhost"):
        targets = _LOOPBACK_ADDRESSES
    for target in targets or ():
        if is_blocked_address(target, allowed_networks):
            raise _blocked(host, target, resolved=True)
    return url


def _check_characters(url: str) -> None:
    if len(url) > MAX_URL_LENGTH:
        raise WebhookURLError(
            "url_too_long", f"URL is {len(url)} characters long; at most {MAX_URL_LENGTH} allowed."
        )
    if not url:
        raise _invalid("URL is empty.")
    for char in url:
        code = ord(char)
        if char.isspace() or code < 0x20 or 0x7F <= code <= 0x9F:
            raise _invalid("URL must not contain spaces or control characters.")
        if char == "\\":
            raise _invalid("URL must not contain backslashes.")


def _check_scheme(url: str, scheme: str, allow_http: bool) -> None:
    if not scheme:
        raise _invalid("URL must be absolute, such as https://example.com/hook.")
    if scheme == "http" and not allow_http:
        raise WebhookURLError(
            "url_scheme_not_allowed",
            f"URL must use https; http:// is accepted only when {ALLOW_HTTP_SETTING}=true.",
        )
    if scheme not in ("http", "https"):
        allowed = "https or http" if allow_http else "https"
        raise WebhookURLError(
            "url_scheme_not_allowed", f"URL scheme is not allowed; use {allowed}."
        )


def _host_of(netloc: str) -> str:
    """The host of a URL's authority, spelled as the HTTP client will resolve it."""
    raw_host, _port = _split_port(netloc)
    if not raw_host:
        raise _invalid("URL has no host, such as https://example.com/hook.")
    if raw_host.startswith("["):
        return raw_host.lower()
    if "%" in raw_host:
        raise _invalid("URL host must not be percent-encoded.")
    host = _normalise_host(raw_host)
    _check_host_name(host)
    return host
