"""Certificates made on the spot, and raw loopback servers that misbehave on purpose.

Nothing here is a fixture of a real receiver: each server does exactly one wrong thing
(answers in plain HTTP, presents a bad certificate, drops the handshake, stalls a body)
so that the sender's account of it can be checked against a real socket.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True)
class Issued:
    cert_pem: bytes
    key_pem: bytes
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def issue(
    common_name: str,
    names: list[x509.GeneralName] | None = None,
    *,
    issuer: Issued | None = None,
    ca: bool = False,
) -> Issued:
    """A certificate for ``names``, signed by ``issuer`` (or by itself when None)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Issued(cert.public_bytes(serialization.Encoding.PEM), key_pem, cert, key)


def loopback_ip() -> list[x509.GeneralName]:
    return [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]


def server_context(issued: Issued, tmp: Path) -> ssl.SSLContext:
    """A TLS server context presenting ``issued`` (ssl loads chains only from files)."""
    cert, key = tmp / f"{id(issued)}.crt", tmp / f"{id(issued)}.key"
    cert.write_bytes(issued.cert_pem)
    key.write_bytes(issued.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def trusting(ca: Issued) -> ssl.SSLContext:
    """A client context that trusts ``ca`` only, checking host names as usual."""
    context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    return context


@asynccontextmanager
async def raw_server(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """Serve ``handler`` on a loopback port (yielded); every connection is cut on exit."""
    writers: list[asyncio.StreamWriter] = []

    async def track(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            await handler(reader, writer)
        except (ConnectionError, ssl.SSLError):
            pass  # the client gave up first: what these servers are for
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(track, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        await server.wait_closed()


async def read_request_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def until_client_leaves(reader: asyncio.StreamReader) -> None:
    """Hang without an end of our own: return only once the client has closed."""
    while await reader.read(65536):
        pass
