"""Webhook URL rules and the address block-list (server-side request forgery defence)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hookline.domain.networks import IPAddress, describe_address, is_blocked_address, parse_networks
from hookline.domain.urls import (
    MAX_URL_LENGTH,
    WebhookURLError,
    check_webhook_url,
    parse_ip_literal,
)

V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address
LOOPBACK = parse_networks("127.0.0.0/8,::1/128")


def refused(url: str, *, allow_http: bool = True, allowed: str = "") -> WebhookURLError:
    with pytest.raises(WebhookURLError) as info:
        check_webhook_url(url, allow_http=allow_http, allowed_networks=parse_networks(allowed))
    return info.value


# --------------------------------------------------------------------------- refused URLs

BLOCKED_URLS = [
    # loopback in every spelling
    "http://127.0.0.1/",
    "https://127.0.0.1:8443/hook",
    "http://127.1/",
    "http://127.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0X7F000001/",
    "http://017700000001/",
    "http://0177.0.0.1/",
    "http://0177.0000.0.01/",
    "http://0x7f.0.0.1/",
    "http://0x7f.1/",
    "http://0x7f.0x0.0x0.0x1/",
    "http://0177.0x0.1/",
    "http://127.0.0.1./",
    "http://127.255.255.254/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::127.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/",  # fullwidth
    "http://127。0。0。1/",
    "http://①②⑦.0.0.1/",
    # unspecified
    "http://0.0.0.0/",
    "http://0/",
    "http://0x0/",
    "http://[::]/",
    "http://[::ffff:0.0.0.0]/",
    # private
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://167772161/",
    "http://012.0.0.1/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.0.1/",
    "http://192.168.1.1:8080/",
    "http://0xc0a80001/",
    "http://[::ffff:192.168.0.1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456:789a::1]/",
    # link-local and cloud metadata
    "http://169.254.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://169.254.170.2/v2/credentials",
    "http://100.100.100.200/latest/meta-data/",
    "http://192.0.0.192/",
    "http://168.63.129.16/machine",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fe80::a9fe:a9fe%25en0]:8080/",
    # shared address space, documentation, benchmarking, reserved, multicast
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://192.0.2.1/",
    "http://198.51.100.7/",
    "http://203.0.113.9/",
    "http://198.18.0.1/",
    "http://198.19.255.255/",
    "http://[2001:db8::1]/",
    "http://[3fff::1]/",
    "http://[2001::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://4294967295/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://[ff02::1]/",
    "http://[ff0e::1]/",
    "http://[fec0::1]/",
    "http://[100::1]/",
    "http://[64:ff9b:1::a00:1]/",
    "http://[::ffff:0:7f00:1]/",
    # names that never need DNS to reach a blocked address
    "http://localhost/",
    "http://localhost:9000/hook",
    "http://LOCALHOST/",
    "http://localhost./",
    "http://foo.localhost/",
    "http://a.b.localhost:8080/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata.google.internal./",
    "http://metadata/",
]


@pytest.mark.parametrize("url", BLOCKED_URLS)
def test_blocked_addresses_are_refused(url: str) -> None:
    error = refused(url)
    assert error.code == "url_blocked_address"
    assert "HOOKLINE_ALLOW_PRIVATE_NETWORKS" in error.message
    https = url.replace("http://", "https://", 1)
    assert refused(https, allow_http=False).code == "url_blocked_address"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://2130706433/", "loopback"),
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://[fd12::1]/", "private"),
        ("http://169.254.169.254/", "cloud metadata"),
        ("http://[64:ff9b::a9fe:a9fe]/", "cloud metadata"),
        ("http://metadata.google.internal/", "cloud metadata"),
        ("http://[fe80::1%25eth0]/", "link-local"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://192.0.2.1/", "documentation"),
        ("http://198.18.0.1/", "benchmarking"),
    ],
)
def test_blocked_message_names_the_kind(url: str, kind: str) -> None:
    assert kind in refused(url).message


REFUSED_URLS = [
    # (url, code, allow_http)
    ("ftp://example.com/hook", "url_scheme_not_allowed", True),
    ("file:///etc/passwd", "url_scheme_not_allowed", True),
    ("javascript:alert(1)", "url_scheme_not_allowed", True),
    ("gopher://example.com/", "url_scheme_not_allowed", True),
    ("ws://example.com/", "url_scheme_not_allowed", True),
    ("http://example.com/hook", "url_scheme_not_allowed", False),
    ("HTTP://example.com/hook", "url_scheme_not_allowed", False),
    ("example.com/hook", "url_invalid", True),
    ("//example.com/hook", "url_invalid", True),
    ("/hook", "url_invalid", True),
    ("", "url_invalid", True),
    ("   ", "url_invalid", True),
    ("https://", "url_invalid", True),
    ("https:///hook", "url_invalid", True),
    ("https:example.com/hook", "url_invalid", True),
    ("https://:443/hook", "url_invalid", True),
    ("https://exa mple.com/", "url_invalid", True),
    ("https://example.com/a b", "url_invalid", True),
    ("https://example.com/\nx", "url_invalid", True),
    ("https://exam\nple.com/", "url_invalid", True),
    ("https://example.com/\t/x", "url_invalid", True),
    ("https://example.com/\x00", "url_invalid", True),
    ("https://example.com/\x7f", "url_invalid", True),
    ("https://example.com/\u3000x", "url_invalid", True),
    ("https://127.0.0.1\\@example.com/", "url_invalid", True),
    ("https://example.com\\.127.0.0.1/", "url_invalid", True),
    ("https://exa<mple.com/", "url_invalid", True),
    ('https://exa"mple.com/', "url_invalid", True),
    ("https://example.com:99999/", "url_invalid", True),
    ("https://example.com:65536/", "url_invalid", True),
    ("https://example.com:0/", "url_invalid", True),
    ("https://example.com:abc/", "url_invalid", True),
    ("https://example.com:-1/", "url_invalid", True),
    ("https://example.com:+443/", "url_invalid", True),
    ("https://example.com:44 3/", "url_invalid", True),
    ("https://example.com:٤٤٣/", "url_invalid", True),
    ("https://example.com:443:443/", "url_invalid", True),
    ("https://[::1/", "url_invalid", True),
    ("https://[zz::1]/", "url_invalid", True),
    ("https://[127.0.0.1]/", "url_invalid", True),
    ("https://[::1]x/", "url_invalid", True),
    ("https://::1/", "url_invalid", True),
    ("https://%31%32%37.0.0.1/", "url_invalid", True),
    ("https://999.1.1.1/", "url_invalid", True),
    ("https://256.0.0.1/", "url_invalid", True),
    ("https://1.2.3.4.5/", "url_invalid", True),
    ("https://4294967296/", "url_invalid", True),
    ("https://0x100000000/", "url_invalid", True),
    ("https://1.16777216/", "url_invalid", True),
    ("https://08.0.0.1/", "url_invalid", True),
    ("https://0189/", "url_invalid", True),
    ("https://1..1/", "url_invalid", True),
    ("https://1.2.3.4../", "url_invalid", True),
    ("https://foo.123/", "url_invalid", True),
    ("https://foo.0x7f/", "url_invalid", True),
    ("https://example..com/", "url_invalid", True),
    ("https://.example.com/", "url_invalid", True),
    ("https://" + "a" * 64 + ".example.com/", "url_invalid", True),
    ("https://user:password@example.com/", "url_credentials_not_allowed", True),
    ("https://user@example.com/", "url_credentials_not_allowed", True),
    ("https://@example.com/", "url_credentials_not_allowed", True),
    ("https://:secret@example.com/", "url_credentials_not_allowed", True),
    ("https://user:password@127.0.0.1/", "url_credentials_not_allowed", True),
]


@pytest.mark.parametrize(("url", "code", "allow_http"), REFUSED_URLS)
def test_malformed_urls_are_refused(url: str, code: str, allow_http: bool) -> None:
    assert refused(url, allow_http=allow_http).code == code


def test_http_needs_the_setting_and_says_so() -> None:
    message = refused("http://example.com/hook", allow_http=False).message
    assert "https" in message
    assert "HOOKLINE_ALLOW_HTTP" in message
    assert check_webhook_url("http://example.com/hook", allow_http=True) == (
        "http://example.com/hook"
    )


def test_credentials_are_never_echoed() -> None:
    error = refused("https://alice:hunter2@example.com/?token=tok123")
    assert error.code == "url_credentials_not_allowed"
    for secret in ("alice", "hunter2", "tok123"):
        assert secret not in error.message
        assert secret not in str(error)


def test_url_error_is_a_value_error_with_code_and_message() -> None:
    error = WebhookURLError("url_invalid", "URL is empty.")
    assert isinstance(error, ValueError)
    assert (error.code, error.message) == ("url_invalid", "URL is empty.")
    assert str(error) == "URL is empty."


# --------------------------------------------------------------------------- accepted URLs

ACCEPTED_URLS = [
    "https://example.com/hook",
    "https://example.com",
    "https://hooks.example.co.jp:8443/a?b=c",
    "https://Example.COM/Path/With/Case?Q=1#frag",
    "https://example.com:443/",
    "https://example.com:/x",
    "https://8.8.8.8/hook",
    "https://8.8.8.8:8443/",
    "https://[2001:4860:4860::8888]/",
    "https://[2001:4860:4860::8888]:8443/hook",
    "https://[::ffff:8.8.8.8]/",
    "https://[64:ff9b::808:808]/",
    "https://[2002:808:808::1]/",
    "https://134744072/",
    "https://0x8.0x8.0x8.0x8/",
    "https://1.1.1.1./",
    "https://192.0.0.9/",
    "https://100.128.0.1/",
    "https://172.32.0.1/",
    "https://169.255.0.1/",
    "https://xn--bcher-kva.example/",
    "https://bücher.example/",
    "https://münchen.de/webhook",
    "https://my_host.example.com/",
    "https://1password.com/",
    "https://123.example.com/",
    "https://0x7f.example.com/",
    "https://localhost.example.com/",
    "https://metadata.example.com/",
    "https://example.localhost.com/",
    "https://intranet/",
    "https://example.com/@user",
    "https://example.com/path?redirect=http://127.0.0.1/",
    "https://example.com/ünïcode/path",
]


@pytest.mark.parametrize("url", ACCEPTED_URLS)
def test_public_urls_are_accepted_unchanged(url: str) -> None:
    assert check_webhook_url(url, allow_http=False) == url


def test_surrounding_whitespace_is_stripped_and_nothing_else_changes() -> None:
    url = "  HTTPS://Example.com:8443/Hook?x=1&y=%20#f \n"
    assert check_webhook_url(url, allow_http=False) == url.strip()


def test_length_limit() -> None:
    base = "https://example.com/"
    exact = base + "a" * (MAX_URL_LENGTH - len(base))
    assert len(exact) == 2048
    assert check_webhook_url(exact, allow_http=False) == exact
    assert check_webhook_url(f"  {exact}\n", allow_http=False) == exact
    error = refused(exact + "a")
    assert error.code == "url_too_long"
    assert "2048" in error.message


# --------------------------------------------------------------------------- allow-list


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/x",
        "http://127.0.0.2/",
        "http://2130706433:9000/",
        "http://[::1]:9000/",
        "http://[::ffff:127.0.0.1]:9000/",
        "http://localhost:9000",
        "http://hooks.localhost:9000/",
    ],
)
def test_allowed_networks_open_the_block_list(url: str) -> None:
    assert check_webhook_url(url, allow_http=True, allowed_networks=LOOPBACK) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "http://0.0.0.0:9000/",
        "http://[::]:9000/",
        "http://[fe80::1]/",
        "http://metadata.google.internal/",
    ],
)
def test_allowed_networks_open_only_themselves(url: str) -> None:
    assert refused(url, allowed="127.0.0.0/8,::1/128").code == "url_blocked_address"


def test_allow_list_does_not_lift_the_http_rule() -> None:
    error = refused("http://127.0.0.1:9000/x", allow_http=False, allowed="127.0.0.0/8")
    assert error.code == "url_scheme_not_allowed"


def test_localhost_needs_both_loopback_addresses_allowed() -> None:
    # localhost may resolve to either; allowing half of it would fail at send time.
    assert refused("http://localhost/", allowed="127.0.0.0/8").code == "url_blocked_address"
    assert refused("http://localhost/", allowed="::1/128").code == "url_blocked_address"


def test_is_blocked_address_with_allowed_networks() -> None:
    assert is_blocked_address(V4("10.1.2.3"))
    assert not is_blocked_address(V4("10.1.2.3"), parse_networks("10.0.0.0/8"))
    assert is_blocked_address(V4("10.1.2.3"), parse_networks("10.0.0.0/16"))
    # the embedded IPv4 address is what the allow-list sees too
    assert not is_blocked_address(V6("::ffff:10.1.2.3"), parse_networks("10.0.0.0/8"))
    assert not is_blocked_address(V6("64:ff9b::a01:203"), parse_networks("10.0.0.0/8"))
    assert not is_blocked_address(V6("::ffff:10.1.2.3"), parse_networks("::ffff:0:0/96"))
    # an IPv4 network never matches an IPv6 address numerically, nor the reverse
    assert is_blocked_address(V6("::1"), parse_networks("0.0.0.0/0"))
    assert is_blocked_address(V4("0.0.0.1"), parse_networks("::/96"))
    assert not is_blocked_address(V6("fe80::1%eth0"), parse_networks("fe80::/10"))


# --------------------------------------------------------------------------- networks


def test_parse_networks() -> None:
    assert parse_networks("127.0.0.0/8, ::1/128") == (
        ipaddress.IPv4Network("127.0.0.0/8"),
        ipaddress.IPv6Network("::1/128"),
    )
    assert parse_networks("10.0.0.0/8,") == (ipaddress.IPv4Network("10.0.0.0/8"),)
    assert parse_networks("192.168.1.10") == (ipaddress.IPv4Network("192.168.1.10/32"),)
    assert parse_networks("") == ()
    assert parse_networks("   ") == ()
    assert parse_networks(" , ") == ()


@pytest.mark.parametrize(
    "bad", ["10.0.0.0/33", "10.0.0.1/8", "not-a-network", "::1/129", "10.0.0.0/8;fd00::/8"]
)
def test_parse_networks_names_the_bad_entry(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a network") as info:
        parse_networks(f"127.0.0.0/8, {bad}")
    assert repr(bad) in str(info.value)
    assert not isinstance(info.value, WebhookURLError)


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", V4("127.0.0.1")),
        ("127.1", V4("127.0.0.1")),
        ("127.0.1", V4("127.0.0.1")),
        ("10.65535", V4("10.0.255.255")),
        ("10.1.65535", V4("10.1.255.255")),
        ("2130706433", V4("127.0.0.1")),
        ("0177.0.0.1", V4("127.0.0.1")),
        ("0x7f.0.0.1", V4("127.0.0.1")),
        ("0X7F.0.0.1", V4("127.0.0.1")),
        ("0x7f.1", V4("127.0.0.1")),
        ("0x7f000001", V4("127.0.0.1")),
        ("017700000001", V4("127.0.0.1")),
        ("0000000177.1", V4("127.0.0.1")),
        ("0x00000000007f.1", V4("127.0.0.1")),
        ("0x", V4(0)),
        ("00", V4(0)),
        ("0", V4(0)),
        ("127.0.0.1.", V4("127.0.0.1")),
        ("4294967295", V4("255.255.255.255")),
        ("8.8.8.8", V4("8.8.8.8")),
        ("::1", V6("::1")),
        ("[::1]", V6("::1")),
        ("[::FFFF:127.0.0.1]", V6("::ffff:7f00:1")),
        ("::ffff:7f00:1", V6("::ffff:7f00:1")),
        ("fe80::1%25eth0", V6("fe80::1")),
        ("[fe80::1%eth0]", V6("fe80::1")),
        ("example.com", None),
        ("example.com.", None),
        ("localhost", None),
        ("1password.com", None),
        ("0x7f.example", None),
        ("a.0xg1", None),
    ],
)
def test_parse_ip_literal(host: str, expected: IPAddress | None) -> None:
    assert parse_ip_literal(host) == expected


@pytest.mark.parametrize(
    "host",
    [
        "999.1.1.1",
        "1.2.3.4.5",
        "256.0.0.1",
        "1.256.0.1",
        "1.1.65536",
        "1.16777216",
        "4294967296",
        "0x100000000",
        "08",
        "0.09.0.0",
        "1..1",
        ".1",
        "1.2.3.4..",
        "",
        ".",
        "foo.123",
        "foo.0x1",
        "[::1",
        "::1]",
        "[zz::1]",
        "::ffff:0177.0.0.1",
        "::ffff:127.1",
        "fe80::1%",
        "1" * 5000,
    ],
)
def test_numeric_hosts_that_are_not_addresses_are_invalid(host: str) -> None:
    with pytest.raises(WebhookURLError) as info:
        parse_ip_literal(host)
    assert info.value.code == "url_invalid"


def test_long_zero_padding_is_still_read_as_a_number() -> None:
    assert parse_ip_literal("0" * 5000 + "177.1") == V4("127.0.0.1")


@pytest.mark.parametrize(
    ("ip", "kind"),
    [
        (V4("127.0.0.1"), "loopback"),
        (V4("10.0.0.1"), "private"),
        (V4("169.254.169.254"), "cloud metadata"),
        (V4("169.254.1.1"), "link-local"),
        (V6("::1"), "loopback"),
        (V6("::"), "unspecified"),
        (V6("::ffff:127.0.0.1"), "loopback"),
        (V6("2002:a9fe:a9fe::"), "cloud metadata"),
        (V6("fd00:ec2::254"), "cloud metadata"),
        (V6("fe80::1"), "link-local"),
        (V6("ff02::1"), "multicast"),
        (V4("8.8.8.8"), "public"),
        (V6("2001:4860:4860::8888"), "public"),
    ],
)
def test_describe_address(ip: IPAddress, kind: str) -> None:
    assert describe_address(ip) == kind


# --------------------------------------------------------------------------- properties

BLOCKED_V4_NETWORKS = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "192.0.2.0/24",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
]


def _octets(ip: ipaddress.IPv4Address) -> tuple[int, int, int, int]:
    a, b, c, d = ip.packed
    return a, b, c, d


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else "\uff0e" for ch in text)


SPELLINGS: list[Callable[[ipaddress.IPv4Address], str]] = [
    str,
    lambda ip: str(int(ip)),
    lambda ip: hex(int(ip)),
    lambda ip: hex(int(ip)).upper().replace("0X", "0x"),
    lambda ip: "0" + oct(int(ip))[2:],
    lambda ip: ".".join(hex(o) for o in _octets(ip)),
    lambda ip: ".".join("0" + oct(o)[2:] for o in _octets(ip)),
    lambda ip: f"{_octets(ip)[0]}.{int(ip) & 0xFFFFFF}",
    lambda ip: f"{_octets(ip)[0]}.{_octets(ip)[1]}.{int(ip) & 0xFFFF}",
    lambda ip: f"{hex(_octets(ip)[0])}.0{oct(_octets(ip)[1])[2:]}.{int(ip) & 0xFFFF:#x}",
    lambda ip: f"{ip}.",
    lambda ip: _fullwidth(str(ip)),
    lambda ip: f"[::ffff:{ip}]",
    lambda ip: f"[{V6(0xFFFF << 32 | int(ip))}]",
    lambda ip: f"[0:0:0:0:0:ffff:{int(ip) >> 16:x}:{int(ip) & 0xFFFF:x}]",
    lambda ip: f"[64:ff9b::{ip}]",
    lambda ip: f"[2002:{int(ip) >> 16:x}:{int(ip) & 0xFFFF:x}::1]",
]


@given(
    network=st.sampled_from(BLOCKED_V4_NETWORKS).map(ipaddress.IPv4Network),
    data=st.data(),
    spelling=st.sampled_from(SPELLINGS),
    scheme=st.sampled_from(["http", "https"]),
    port=st.sampled_from(["", ":80", ":8443"]),
)
def test_every_spelling_of_a_blocked_ipv4_address_is_refused(
    network: ipaddress.IPv4Network,
    data: st.DataObject,
    spelling: Callable[[ipaddress.IPv4Address], str],
    scheme: str,
    port: str,
) -> None:
    ip = data.draw(st.ip_addresses(network=network))
    assert isinstance(ip, ipaddress.IPv4Address)
    host = spelling(ip)
    url = f"{scheme}://{host}{port}/hook"
    with pytest.raises(WebhookURLError) as info:
        check_webhook_url(url, allow_http=True)
    assert info.value.code == "url_blocked_address", (url, info.value.message)
    if not host.startswith("[") and "\uff0e" not in host:
        literal = parse_ip_literal(host)
        assert literal is not None
        assert is_blocked_address(literal)


@given(
    network=st.sampled_from(BLOCKED_V4_NETWORKS).map(ipaddress.IPv4Network),
    data=st.data(),
    spelling=st.sampled_from(SPELLINGS),
)
def test_spellings_of_an_allowed_network_pass(
    network: ipaddress.IPv4Network,
    data: st.DataObject,
    spelling: Callable[[ipaddress.IPv4Address], str],
) -> None:
    ip = data.draw(st.ip_addresses(network=network))
    assert isinstance(ip, ipaddress.IPv4Address)
    url = f"http://{spelling(ip)}/hook"
    assert check_webhook_url(url, allow_http=True, allowed_networks=(network,)) == url


@given(st.integers(min_value=0, max_value=2**40))
def test_integer_hosts_are_addresses_or_invalid(number: int) -> None:
    if number < 2**32:
        assert parse_ip_literal(str(number)) == V4(number)
        assert parse_ip_literal(hex(number)) == V4(number)
    else:
        with pytest.raises(WebhookURLError):
            parse_ip_literal(str(number))


# Ranges IANA lists as not globally reachable (or known metadata endpoints) that the
# ipaddress module of older Python 3.11 releases still calls global.
NOT_GLOBAL_PER_IANA = [
    ipaddress.ip_network(n)
    for n in ("192.0.0.0/24", "3fff::/20", "168.63.129.16/32", "5f00::/16", "64:ff9b:1::/48")
]
# Globally reachable exceptions inside larger special-purpose blocks, per IANA; older
# Python releases call them non-global, newer ones global.
GLOBAL_EXCEPTIONS = [
    ipaddress.ip_network(n)
    for n in (
        "192.0.0.9/32",
        "192.0.0.10/32",
        "2001:1::1/128",
        "2001:1::2/128",
        "2001:1::3/128",
        "2001:3::/32",
        "2001:4:112::/48",
        "2001:20::/28",
        "2001:30::/28",
    )
]


def _routable(ip: IPAddress) -> bool:
    """An oracle independent of hookline: public unicast by ipaddress and IANA."""
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return False
    if any(ip.version == n.version and ip in n for n in GLOBAL_EXCEPTIONS):
        return True
    if any(ip.version == n.version and ip in n for n in NOT_GLOBAL_PER_IANA):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:
            return False
        embedded = [ip.ipv4_mapped, ip.sixtofour]
        if ip in ipaddress.IPv6Network("64:ff9b::/96"):
            embedded.append(V4(int(ip) & 0xFFFFFFFF))
        return all(e is None or _routable(e) for e in embedded)
    return True


@given(st.ip_addresses())
def test_global_addresses_are_not_blocked(ip: IPAddress) -> None:
    assume(_routable(ip))
    assert not is_blocked_address(ip), describe_address(ip)
    assert describe_address(ip) == "public"


@given(st.ip_addresses(v=4))
def test_global_ipv4_literals_are_accepted_in_every_form(ip: ipaddress.IPv4Address) -> None:
    assume(_routable(ip))
    for spelling in SPELLINGS:
        url = f"https://{spelling(ip)}/hook"
        assert check_webhook_url(url, allow_http=False) == url


@given(st.ip_addresses())
def test_not_global_addresses_are_blocked(ip: IPAddress) -> None:
    # the other direction: whatever ipaddress itself calls non-global is refused
    assume(not ip.is_global or ip.is_multicast)
    assume(not any(ip.version == n.version and ip in n for n in GLOBAL_EXCEPTIONS))
    # 6to4 is judged by its embedded IPv4 address (newer Pythons call all of 2002::/16
    # non-global), and so are IPv4-mapped addresses
    assume(isinstance(ip, V4) or (ip.sixtofour is None and ip.ipv4_mapped is None))
    assert is_blocked_address(ip)
    assert describe_address(ip) != "public"


@given(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}\.[a-z]{2,10}", fullmatch=True)
)
def test_ordinary_host_names_pass(name: str) -> None:
    assume(name != "localhost" and not name.endswith(".localhost"))
    assume(name not in ("metadata", "metadata.google.internal", "localhost.localdomain"))
    assert parse_ip_literal(name) is None
    url = f"https://{name}/hook"
    assert check_webhook_url(url, allow_http=False) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal/",
    ],
)
def test_metadata_addresses_stay_refused_inside_an_allowed_network(url: str) -> None:
    allowed = parse_networks("169.254.0.0/16,::ffff:0:0/96")
    with pytest.raises(WebhookURLError) as info:
        check_webhook_url(url, allow_http=True, allowed_networks=allowed)
    assert info.value.code == "url_blocked_address"
    assert not is_blocked_address(ipaddress.ip_address("169.254.1.1"), allowed)
